package execcheck

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Bounds on what is read from a trapped process. The kernel's own limits
// are 128 KiB per string (MAX_ARG_STRLEN) and about 2 MiB in all; an argv
// past these bounds is not truncated silently: it is reported, and the
// exec is asked about (see tooLarge).
const (
	maxArgs     = 4096
	maxArgBytes = 128 << 10
	maxArgTotal = 1 << 20
	maxPath     = 4096
)

// errTooLarge marks an argv over the bounds above.
var errTooLarge = errors.New("argv exceeds the sizes exec checks read")

// mem reads another process's memory: process_vm_readv, or /proc/PID/mem
// where that system call is unavailable (both need the same ptrace access,
// which the wrapper has over the commands it starts).
type mem struct {
	pid  int
	file *os.File // /proc/PID/mem, opened on first need
	// pages are the last pages read whole, so that the path and the
	// argv strings, which usually share a few pages, cost one read each
	// page, not one per string (one system call is much of an allowed
	// exec's cost). Eight, because the strings of one argv may alternate
	// between pages (a Go program's are spread over its heap and stack):
	// with two, such an argv read one page per string.
	pages [8]memPage
	next  int
	reads int // system calls made (for tests)
}

type memPage struct {
	addr uint64 // page-aligned; 0: empty
	b    [pageSize]byte
}

const pageSize = 4096

// page returns the page containing addr, read whole (a mapped address's
// page is mapped in full).
func (m *mem) page(addr uint64) ([]byte, error) {
	base := addr &^ (pageSize - 1)
	if p := m.cached(base); p != nil {
		return p.b[:], nil
	}
	p := m.slot()
	if err := m.read(base, p.b[:]); err != nil {
		return nil, err
	}
	p.addr = base
	return p.b[:], nil
}

func (m *mem) cached(base uint64) *memPage {
	for i := range m.pages {
		if m.pages[i].addr == base && base != 0 {
			return &m.pages[i]
		}
	}
	return nil
}

// slot empties the oldest page and returns it.
func (m *mem) slot() *memPage {
	p := &m.pages[m.next]
	m.next = (m.next + 1) % len(m.pages)
	p.addr = 0
	return p
}

// prefetch reads the pages of two addresses (the path and the argv
// array, usually on different pages) with one system call. Whatever it
// could not read is read again, and its error reported, by page.
func (m *mem) prefetch(a, b uint64) {
	a, b = a&^(pageSize-1), b&^(pageSize-1)
	if a == 0 || b == 0 || a == b || m.cached(a) != nil || m.cached(b) != nil {
		return
	}
	pa, pb := m.slot(), m.slot()
	local := []unix.Iovec{{Base: &pa.b[0]}, {Base: &pb.b[0]}}
	local[0].SetLen(pageSize)
	local[1].SetLen(pageSize)
	remote := []unix.RemoteIovec{{Base: uintptr(a), Len: pageSize}, {Base: uintptr(b), Len: pageSize}}
	// A partial read stops at the first page that failed: the pages
	// before it are whole.
	m.reads++
	n, err := unix.ProcessVMReadv(m.pid, local, remote, 0)
	if err != nil {
		return
	}
	if n >= pageSize {
		pa.addr = a
	}
	if n == 2*pageSize {
		pb.addr = b
	}
}

// reset points m at another process, forgetting what it read.
func (m *mem) reset(pid int) {
	m.close()
	m.pid = pid
	for i := range m.pages {
		m.pages[i].addr = 0
	}
}

func (m *mem) close() {
	if m.file != nil {
		m.file.Close()
		m.file = nil
	}
}

// read fills b from addr; a short read is an error.
func (m *mem) read(addr uint64, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	local := []unix.Iovec{{Base: &b[0]}}
	local[0].SetLen(len(b))
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(b)}}
	m.reads++
	n, err := unix.ProcessVMReadv(m.pid, local, remote, 0)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		return m.readProc(addr, b)
	}
	if err != nil {
		return err
	}
	if n != len(b) {
		return fmt.Errorf("short read of pid %d at %#x", m.pid, addr)
	}
	return nil
}

func (m *mem) readProc(addr uint64, b []byte) error {
	if m.file == nil {
		f, err := os.Open("/proc/" + strconv.Itoa(m.pid) + "/mem")
		if err != nil {
			return err
		}
		m.file = f
	}
	n, err := m.file.ReadAt(b, int64(addr))
	if err != nil {
		return err
	}
	if n != len(b) {
		return fmt.Errorf("short read of pid %d at %#x", m.pid, addr)
	}
	return nil
}

// cstring reads a NUL-terminated string of at most limit bytes, a page at
// a time, so that a string that ends just before an unmapped page is
// still read.
func (m *mem) cstring(addr uint64, limit int) (string, error) {
	if addr == 0 {
		return "", errors.New("NULL pointer")
	}
	var out []byte
	for len(out) <= limit {
		pg, err := m.page(addr)
		if err != nil {
			return "", err
		}
		chunk := pg[addr%pageSize:]
		if i := bytes.IndexByte(chunk, 0); i >= 0 {
			if out == nil {
				if i > limit {
					break
				}
				return string(chunk[:i]), nil
			}
			out = append(out, chunk[:i]...)
			if len(out) > limit {
				break
			}
			return string(out), nil
		}
		out = append(out, chunk...)
		addr += uint64(len(chunk))
	}
	return "", errTooLarge
}

// ptr reads one pointer of the given size.
func (m *mem) ptr(addr uint64, size int) (uint64, error) {
	var b [8]byte
	if err := m.read(addr, b[:size]); err != nil {
		return 0, err
	}
	if size == 4 {
		return uint64(binary.LittleEndian.Uint32(b[:4])), nil
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// argv reads a NULL-terminated array of string pointers. A NULL array is
// an empty argv (Linux allows it and supplies "" as argv[0]).
func (m *mem) argv(addr uint64, ptrSize int) ([]string, error) {
	if addr == 0 {
		return nil, nil
	}
	var out []string
	total := 0
	for i := 0; ; i++ {
		if i >= maxArgs {
			return out, errTooLarge
		}
		at := addr + uint64(i*ptrSize)
		var p uint64
		if at%pageSize+uint64(ptrSize) <= pageSize {
			pg, err := m.page(at)
			if err != nil {
				return out, err
			}
			b := pg[at%pageSize:]
			if ptrSize == 4 {
				p = uint64(binary.LittleEndian.Uint32(b[:4]))
			} else {
				p = binary.LittleEndian.Uint64(b[:8])
			}
		} else {
			// A pointer split across pages: read it alone.
			var err error
			if p, err = m.ptr(at, ptrSize); err != nil {
				return out, err
			}
		}
		if p == 0 {
			return out, nil
		}
		s, err := m.cstring(p, maxArgBytes)
		if err != nil {
			return out, err
		}
		total += len(s) + 1
		if total > maxArgTotal {
			return out, errTooLarge
		}
		out = append(out, s)
	}
}
