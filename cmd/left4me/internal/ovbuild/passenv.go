package ovbuild

// PassEnv is the variables of the operator's environment a build gets
// (the unit's environment is otherwise its own), as NAME=VALUE: the
// helpers' mirror of AlliedModders' builds and the steamcmd the workshop
// helper runs.
func PassEnv(getenv func(string) string) []string {
	var env []string
	for _, k := range []string{"LEFT4ME_ALLIEDMODS_MIRROR", "LEFT4ME_STEAMCMD"} {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}
