package specfile

import "syscall"

// nonblock makes open(2) of a FIFO return at once instead of waiting for a
// writer; the file type is checked right after.
const nonblock = syscall.O_NONBLOCK
