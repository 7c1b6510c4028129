// Package compat makes system calls through the other entry points of an
// x86_64 kernel (the i386 table through int 0x80, the x32 table through the
// x32 bit), so that tests can show exec checks trap them too. Only tests
// import it.
package compat
