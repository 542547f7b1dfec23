package prestart

import (
	"strings"

	"github.com/left4me/left4me/spec/startplan"
)

// ServerCfg renders the instance's server.cfg: one exec line per aliased
// overlay, lowest overlay first so a higher overlay's settings win, for each
// alias the config does not already exec (specs from the web front end carry
// them; hand-written ones need not), then the spec's config lines.
// auto is the number of leading lines that were added.
func ServerCfg(p startplan.Plan) (cfg string, auto int) {
	var b strings.Builder
	for i := len(p.Overlays) - 1; i >= 0; i-- {
		a := p.Overlays[i].Alias
		if a == "" || execsAlias(p.Config, a) {
			continue
		}
		b.WriteString("exec server_" + a + "\n")
		auto++
	}
	for _, l := range p.Config {
		b.WriteString(l + "\n")
	}
	return b.String(), auto
}

// execsAlias reports whether a config line already runs server_ALIAS,
// written as srcds accepts it: with or without quotes and .cfg.
func execsAlias(config []string, alias string) bool {
	for _, l := range config {
		f := strings.Fields(l)
		if len(f) < 2 || !strings.EqualFold(f[0], "exec") {
			continue
		}
		target := strings.TrimSuffix(strings.Trim(f[1], `"`), ".cfg")
		if target == "server_"+alias {
			return true
		}
	}
	return false
}

// AliasCfgName is the staged copy of an aliased overlay's server.cfg.
func AliasCfgName(alias string) string { return "server_" + alias + ".cfg" }

// OverlayCfg is where an overlay keeps its own server.cfg.
const OverlayCfg = "left4dead2/cfg/server.cfg"
