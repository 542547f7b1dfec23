package spec

import (
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/startplan"
)

// Claim is what an instance holds of the ports beside its spec: the set
// its last start was given (the start helper's record, layout.Ports) and
// whether its overlay is mounted now, that is, whether its server runs
// with them. A running server keeps its ports against any spec, its own
// edited one included, until it stops (ClaimPorts).
type Claim struct {
	Ports   []RolePort
	Running bool
}

// maxClaimSize bounds a record: four "role port" lines.
const maxClaimSize = 256

// ReadClaims reads the claims of every instance below root's runtime/,
// with or without a spec (one removed while its server runs still holds
// its ports). A root that cannot be read (not mounted yet at boot, not
// root) gives none, and the specs' ages alone decide.
func ReadClaims(root string) map[string]Claim {
	rt := filepath.Join(root, layout.RuntimeName)
	dirfd, err := unix.Open(rt, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(dirfd)
	ents, err := os.ReadDir(rt)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && layout.ValidateName(e.Name()) == nil {
			names = append(names, e.Name())
		}
	}
	got := make([]Claim, len(names))
	parallel(runtime.GOMAXPROCS(0), len(names), func(_, i int) { got[i] = readClaim(dirfd, names[i]) })
	claims := map[string]Claim{}
	for i, n := range names {
		if len(got[i].Ports) > 0 {
			claims[n] = got[i]
		}
	}
	return claims
}

// readClaim reads runtime/NAME's record (root's, a small regular file,
// reached without following a link: the tree below runtime/NAME/upper is
// the server's, runtime/NAME itself is not) and whether merged/ is a mount.
func readClaim(dirfd int, name string) Claim {
	var c Claim
	how := &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV}
	fd, err := unix.Openat2(dirfd, name+"/"+layout.Ports, how)
	if err != nil {
		return c
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Uid != 0 || st.Size > maxClaimSize {
		return c
	}
	buf := make([]byte, maxClaimSize+1)
	n, err := unix.Read(fd, buf)
	if err != nil || n > maxClaimSize {
		return c
	}
	ports, err := startplan.ParsePorts(buf[:n])
	if err != nil {
		return c
	}
	for _, p := range ports {
		switch r := PortRole(p.Role); r {
		case RoleGame, RoleClient, RoleTV, RoleSteam:
			c.Ports = append(c.Ports, RolePort{r, p.Port})
		default:
			return Claim{} // not a record the start helper wrote
		}
	}
	var dir, merged unix.Stat_t
	if unix.Fstatat(dirfd, name, &dir, unix.AT_SYMLINK_NOFOLLOW) == nil &&
		unix.Fstatat(dirfd, name+"/"+layout.Merged, &merged, unix.AT_SYMLINK_NOFOLLOW) == nil {
		// The overlay's own device: mounted (a mount left by a crash
		// counts too, until the next start or stop removes it).
		c.Running = merged.Dev != dir.Dev
	}
	return c
}
