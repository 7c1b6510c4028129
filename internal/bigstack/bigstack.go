// Package bigstack gives the main goroutine of the program that imports it
// (hermes-exec, the shell) the stack its work needs, at once, before the
// other packages initialise. Import it for that effect only.
//
// A goroutine starts with 8 KiB of stack. The shell's main goroutine needed
// more than 32 KiB for a -c command (the regular expressions compiled at
// package initialisation, the configuration's decoding, the parse and the
// classifier's recursion over it), so the runtime grew its stack three
// times, to 16, 32 and 64 KiB, each time copying it and walking every frame
// on it with the unwinder, deep in those calls: about 0.15M instructions of
// a `-c true` (callgrind), and page faults for the stacks left behind and
// the function tables the walks read. One frame this large, while the stack
// holds only the runtime's few frames, makes the runtime size the new stack
// once. Its zeroing touches pages that the deep calls touch anyway. Nothing
// else changes: the runtime still grows the stack if a command needs more.
//
// The package imports nothing, so it is initialised before every package
// whose import path sorts after it (Go initialises, among the packages
// whose imports are done, the first by path): regexp and go.yaml.in among
// them.
package bigstack

// Size is the stack the main goroutine gets: the shell's deepest path of a
// -c command fits, and the runtime rounds a stack up to a power of two.
const Size = 64 << 10

// grow is not inlined, so its call and its frame stay although the result
// is dropped.
func init() { _ = grow(0) }

// grow has a frame of most of Size: the runtime doubles the stack until the
// frame fits, which is Size from the small stack of package initialisation.
//
//go:noinline
func grow(i int) byte {
	var frame [Size * 5 / 8]byte
	frame[i] = 1
	return frame[len(frame)-1-i]
}
