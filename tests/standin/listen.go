package main

import "fmt"

// portTryMax is PORT_TRY_MAX of the engine's NET_OpenSocket: "try binding
// socket to port, try next 10 is port is already used".
const portTryMax = 10

// bindFailure is a bind the engine does not survive: the lines it prints
// and its exit status.
type bindFailure struct {
	lines []string
	code  int
}

func (f *bindFailure) Error() string { return fmt.Sprint(f.lines) }
