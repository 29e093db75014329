// Command hello is the bench's lower yardstick: the cheapest Go program that
// starts, writes a line and exits.
package main

import "os"

func main() {
	_, _ = os.Stdout.WriteString("hello\n")
}
