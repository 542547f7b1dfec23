// Package spectest holds spec fixtures shared by the benchmarks, so that
// `make bench`, the generator's and the parser's Go benchmarks measure the
// same input.
package spectest

import "fmt"

// FrontEnd is instance i's spec as the web front end writes it: arguments
// one of which needs quoting, exec lines in config, two overlays, one
// aliased; every second instance starts at boot.
func FrontEnd(i int) string {
	return fmt.Sprintf(`# bench instance %d
port: %d
autostart: %t
arguments: ["+map", "c1m1_hotel", "-tickrate", "100", "+hostname", "Bench server %d"]
config:
  - exec server_overlay_12
  - 'hostname "Bench server %d"'
  - sv_maxplayers 8
overlays:
  - {path: competitive, alias: overlay_12}
  - workshop/maps
`, i, 20000+i, i%2 == 0, i, i)
}
