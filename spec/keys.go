package spec

// The mappings of a spec whose keys are known (KnownKeys).
const (
	TopKeys       = ""           // the spec itself
	PortsKeys     = "ports"      // ports:
	ResourcesKeys = "resources"  // resources:
	OverlayKeys   = "overlays[]" // an overlay given as a mapping
	ScheduleKeys  = "schedule"   // schedule:
	BackupsKeys   = "backups"    // backups:
)

// KnownKeys is the one table of the keys a spec may have, per mapping, in
// the order messages list them (as quadlet's supportedKeys): the parser
// refuses any other key, naming the nearest. A new key goes here and into
// the parser (TestKnownKeysParsed checks that both know it). One key a
// line, so that keys added side by side merge.
func KnownKeys() map[string][]string {
	return map[string][]string{
		TopKeys: {
			"port",
			"ports",
			"autostart",
			"arguments",
			"config",
			"overlays",
			"start_timeout",
			"hang_timeout",
			"resources",
			"schedule",
			"backups",
		},
		PortsKeys: {
			"client",
			"tv",
			"steam",
		},
		ResourcesKeys: {
			"memory_max",
			"cpu_quota",
			"cpu_weight",
			"cpu_affinity",
			"nice",
			"tasks_max",
			"disk",
			"log_days",
			"log_size",
		},
		OverlayKeys: {
			"path",
			"alias",
		},
		ScheduleKeys: {
			"restart",
			"restart_deadline",
			"restart_force",
			"restart_warn_at",
			"restart_announce",
			"backup",
		},
		BackupsKeys: {
			"keep",
			"max_age",
		},
	}
}
