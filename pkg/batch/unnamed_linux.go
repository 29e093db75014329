package batch

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"
)

// oTmpfile is O_TMPFILE: __O_TMPFILE (020000000 on every Linux port Go
// supports) with O_DIRECTORY, whose value differs between them. The
// syscall package does not define it everywhere (amd64 among others). A
// kernel without it opens the directory itself, which O_WRONLY refuses.
const oTmpfile = 0o20000000 | syscall.O_DIRECTORY

// atSymlinkFollow is AT_SYMLINK_FOLLOW of linkat(2).
const atSymlinkFollow = 0x400

// createUnnamed opens a new file in dir that has no name (O_TMPFILE, mode
// 0600), and the function that links it to a path once it is complete,
// through /proc/self/fd (linkat(2) with AT_SYMLINK_FOLLOW, which needs no
// privilege). It fails where the kernel, the file system or a missing /proc
// does not allow that; Plan then writes a named file aside.
func createUnnamed(dir string) (*os.File, func(path string) error, error) {
	fd, err := syscall.Open(dir, oTmpfile|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, nil, &os.PathError{Op: "open O_TMPFILE", Path: dir, Err: err}
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir, "(plan being written)"))
	proc := fmt.Sprintf("/proc/self/fd/%d", fd)
	if _, err := os.Stat(proc); err != nil {
		f.Close()
		return nil, nil, err
	}
	link := func(path string) error {
		if err := linkat(proc, path); err != nil {
			return &os.LinkError{Op: "link", Old: proc, New: path, Err: err}
		}
		return nil
	}
	return f, link, nil
}

// linkat is linkat(AT_FDCWD, oldpath, AT_FDCWD, newpath, AT_SYMLINK_FOLLOW),
// which the syscall package does not export.
func linkat(oldpath, newpath string) error {
	o, err := syscall.BytePtrFromString(oldpath)
	if err != nil {
		return err
	}
	n, err := syscall.BytePtrFromString(newpath)
	if err != nil {
		return err
	}
	cwd := -100 // AT_FDCWD
	_, _, e := syscall.Syscall6(syscall.SYS_LINKAT, uintptr(cwd), uintptr(unsafe.Pointer(o)), uintptr(cwd), uintptr(unsafe.Pointer(n)), atSymlinkFollow, 0)
	if e != 0 {
		return e
	}
	return nil
}
