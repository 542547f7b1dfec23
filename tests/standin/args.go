package main

import (
	"fmt"
	"strconv"
)

// args holds what the stand-in takes from the srcds_run command line.
type args struct {
	game     string // -game DIR
	port     uint16 // -port N
	mapName  string // +map X
	hostname string // +hostname X, empty if not given
}

// parseArgs reads the options srcds_run understands and ignores the rest,
// as the real one passes unknown ones on to the engine. The last of a
// repeated option wins.
func parseArgs(argv []string) (args, error) {
	a := args{game: "left4dead2", port: 27015}
	for i := 0; i < len(argv); i++ {
		opt := argv[i]
		switch opt {
		case "-game", "-port", "+map", "+hostname":
		default:
			continue
		}
		if i+1 == len(argv) {
			return args{}, fmt.Errorf("option %s: missing value", opt)
		}
		i++
		val := argv[i]
		switch opt {
		case "-game":
			a.game = val
		case "-port":
			p, err := strconv.ParseUint(val, 10, 16)
			if err != nil {
				return args{}, fmt.Errorf("option -port: %w", err)
			}
			a.port = uint16(p)
		case "+map":
			a.mapName = val
		case "+hostname":
			a.hostname = val
		}
	}
	return a, nil
}
