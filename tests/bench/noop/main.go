// Command noop is the floor of a static Go program for tests/bench: it
// does nothing, so its time is the Go runtime's start and exit alone.
package main

func main() {}
