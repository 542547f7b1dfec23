package commands

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/specedit"
	"github.com/left4me/left4me/cmd/left4me/internal/web"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
)

// DefaultWebAddr is where left4me-web.socket listens: local only, for an
// SSH tunnel or the operator's reverse proxy.
const DefaultWebAddr = "127.0.0.1:9780"

// webStore is where the panel keeps its users (config) and its login
// links and sessions (state).
func (e *Env) webStore() web.Store {
	now := e.Now
	if now == nil {
		now = time.Now
	}
	return web.Store{
		UsersFile: filepath.Join(e.Layout.ConfigDir, "web", "users"),
		Dir:       filepath.Join(e.Layout.Root, "web"),
		Now:       now,
	}
}

func webCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:  "web",
		Usage: "the web panel (left4me-web.socket on " + DefaultWebAddr + "): users and login links",
		Description: `The web panel is served by left4me-web.service, started by
left4me-web.socket on ` + DefaultWebAddr + ` (local only: reach it through an SSH
tunnel, ssh -L 9780:127.0.0.1:9780 HOST, or a reverse proxy with TLS).
There are no passwords: an administrator of the host gives each person a
user with a role (admin: everything; operator: start, stop, restart and
the console; viewer: read-only), and ` + "`left4me web login NAME`" + ` prints a
link that logs NAME in once, within 10 minutes.

Examples:
  left4me web user add alice --role admin
  left4me web user list
  left4me web login alice`,
		Subcommands: []*cli.Command{
			{
				Name:      "login",
				Usage:     "print a one-time login link for a web user (valid 10 minutes, usable once)",
				ArgsUsage: "USER",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "url", Value: "http://" + DefaultWebAddr, Usage: "the panel's address as the browser reaches it (`URL`)"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fmt.Errorf("%w: web login takes one user name; e.g. left4me web login alice", fail.ErrUsage)
					}
					if err := e.panelListens(c.Context); err != nil {
						return err
					}
					tok, err := e.webStore().NewLink(c.Args().First())
					if err != nil {
						return webErr(err)
					}
					// The fragment: the browser sends it nowhere (app.js
					// reads it), so no access log on the way keeps it.
					fmt.Fprintf(e.Stdout, "%s/login#token=%s\n", strings.TrimSuffix(c.String("url"), "/"), tok)
					return nil
				},
			},
			{
				Name:  "user",
				Usage: "add, list or remove web users",
				Subcommands: []*cli.Command{
					{
						Name:      "add",
						Usage:     "add a web user, or change its role",
						ArgsUsage: "NAME",
						Flags:     []cli.Flag{&cli.StringFlag{Name: "role", Required: true, Usage: "admin, operator or viewer (`ROLE`)"}},
						Action: func(c *cli.Context) error {
							if c.NArg() != 1 {
								return fmt.Errorf("%w: web user add takes one name; e.g. left4me web user add alice --role viewer", fail.ErrUsage)
							}
							r, err := web.ParseRole(c.String("role"))
							if err != nil {
								return webErr(err)
							}
							if err := e.webStore().SetUser(c.Args().First(), r); err != nil {
								return webErr(err)
							}
							fmt.Fprintf(e.Stdout, "web user %s: %s\n", c.Args().First(), r)
							return nil
						},
					},
					{
						Name:      "remove",
						Usage:     "remove a web user (its sessions end at once)",
						ArgsUsage: "NAME",
						Action: func(c *cli.Context) error {
							if c.NArg() != 1 {
								return fmt.Errorf("%w: web user remove takes one name", fail.ErrUsage)
							}
							return webErr(e.webStore().SetUser(c.Args().First(), web.NoRole))
						},
					},
					{
						Name:  "list",
						Usage: "list the web users and their roles",
						Action: func(*cli.Context) error {
							users, err := e.webStore().Users()
							if err != nil {
								return webErr(err)
							}
							for _, n := range slices.Sorted(maps.Keys(users)) {
								fmt.Fprintf(e.Stdout, "%s %s\n", n, users[n])
							}
							return nil
						},
					},
				},
			},
			{
				Name:   "serve",
				Usage:  "serve the panel (run by left4me-web.service)",
				Hidden: true,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "listen", Value: DefaultWebAddr, Usage: "address when not socket-activated"},
					&cli.StringFlag{Name: "url", Usage: "the panel's address as the browser reaches it, a reverse proxy's (`URL`); https:// makes the session cookie Secure"},
					&cli.StringFlag{Name: "tls-cert", Usage: "serve HTTPS with this certificate (`FILE`, PEM)"},
					&cli.StringFlag{Name: "tls-key", Usage: "the certificate's key (`FILE`, PEM)"},
				},
				Action: func(c *cli.Context) error {
					return e.serveWeb(c.Context, webServe{listen: c.String("listen"), url: c.String("url"), cert: c.String("tls-cert"), key: c.String("tls-key")})
				},
			},
		},
	}
}

// panelListens refuses a login link while neither the panel's socket
// unit nor its service is active: the link's token is read by whatever
// page answers on the panel's address, and with nothing of ours holding
// it any local user may bind 127.0.0.1:9780 and take it. While either
// is active, systemd's or the panel's listening socket holds the address
// (not SO_REUSEPORT), so nobody else can.
func (e *Env) panelListens(ctx context.Context) error {
	sd, err := e.Connect(ctx)
	if err != nil {
		return fmt.Errorf("no login link: whether the panel listens cannot be told: %w", err)
	}
	defer sd.Close()
	ctx, cancel := context.WithTimeout(ctx, clienv.ConnectTimeout)
	defer cancel()
	units, err := sd.Units(ctx, []string{webSocketUnit, webServiceUnit})
	if err != nil {
		return fmt.Errorf("no login link: whether the panel listens cannot be told: %w", err)
	}
	var states []string
	for _, u := range units {
		if u.ActiveState == "active" {
			return nil
		}
		states = append(states, u.Name+" is "+u.ActiveState)
	}
	return fmt.Errorf("no login link: %s, so nothing of left4me's listens on the panel's address and a link would go to whatever does (another local user may bind it); start the panel first: systemctl enable --now %s",
		strings.Join(states, " and "), webSocketUnit)
}

// The panel's units (units/).
const (
	webSocketUnit  = "left4me-web.socket"
	webServiceUnit = "left4me-web.service"
)

func webErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, web.ErrBadInput), errors.Is(err, web.ErrNoUser):
		return fmt.Errorf("%w: %v", fail.ErrUsage, err)
	case errors.Is(err, fs.ErrPermission):
		return fail.NeedsRoot(err, "changing the web users")
	}
	return err
}

// webServe is how web serve serves.
type webServe struct {
	listen    string // when not socket-activated
	url       string // the public address, "" if the listen address
	cert, key string
}

// serveWeb serves the panel on the sockets systemd passed, or on listen.
func (e *Env) serveWeb(ctx context.Context, o webServe) error {
	listen, cert, key := o.listen, o.cert, o.key
	var public *url.URL
	if o.url != "" {
		u, err := url.Parse(o.url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: --url %q: want http://HOST[:PORT] or https://HOST[:PORT]", fail.ErrUsage, o.url)
		}
		public = u
	}
	srv := &web.Server{
		Store:    e.webStore(),
		Log:      e.Stderr,
		TLS:      cert != "" || public != nil && public.Scheme == "https",
		SpecPath: e.Layout.SpecPath,
		SpecDir:  e.Layout.InstancesDir(),
		// What saving applies, so the editor shows what a save would refuse.
		JudgeSpec: e.judgeSpec,
		Run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			sub := *e
			sub.Stdin, sub.Stdout, sub.Stderr = strings.NewReader(""), stdout, stderr
			sub.Terminal, sub.Color = false, false
			// Commands of the panel run side by side: one's last words
			// are not the process's (a second signal stops the panel).
			sub.Last = nil
			return Run(ctx, &sub, append([]string{"left4me"}, args...))
		},
		Attach: func(ctx context.Context, name string, out io.Writer) error {
			// Nothing is typed: the input ends when the page goes away.
			in, done := io.Pipe()
			stop := context.AfterFunc(ctx, func() { _ = done.Close() })
			defer stop()
			sub := *e
			sub.Stdin, sub.Stdout, sub.Stderr = in, out, out
			sub.Terminal, sub.Color = false, false
			return Run(ctx, &sub, []string{"left4me", "console", name})
		},
		SaveSpec: func(ctx context.Context, name string, data []byte, out io.Writer) error {
			sub := *e
			sub.Stdout, sub.Stderr = out, out
			return sub.saveSpec(ctx, name, data)
		},
		RenderSpec: func(ctx context.Context, name string, data []byte, out io.Writer) error {
			sub := *e
			sub.Stdin, sub.Stdout, sub.Stderr = bytes.NewReader(data), out, out
			sub.Terminal, sub.Color = false, false
			return Run(ctx, &sub, []string{"left4me", "render", "--spec", "-", "--", name})
		},
	}
	ls, err := activation.Listeners()
	if err != nil {
		return fmt.Errorf("web: sockets from systemd: %w", err)
	}
	if len(ls) == 0 {
		l, err := net.Listen("tcp", listen)
		if err != nil {
			return fmt.Errorf("web: %w", err)
		}
		ls = []net.Listener{l}
	}
	srv.Hosts = webHosts(ls, public)
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
		// A stopping server ends the followed journals of open pages.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	errs := make(chan error, len(ls))
	for _, l := range ls {
		fmt.Fprintf(e.Stderr, "web: serving on %s\n", l.Addr())
		go func() {
			if cert != "" {
				errs <- hs.ServeTLS(l, cert, key)
			} else {
				errs <- hs.Serve(l)
			}
		}()
	}
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := hs.Shutdown(sctx)
		srv.LogUnfinished()
		return err
	case err := <-errs:
		srv.LogUnfinished()
		return fmt.Errorf("web: %w", err)
	}
}

// saveSpec replaces an instance's spec with data, atomically, when it
// parses and its ports clash with no other spec's, and reloads systemd: the
// web editor's save, with the rules of create and autostart.
func (e *Env) saveSpec(ctx context.Context, name string, data []byte) error {
	if _, err := e.Instance(name); err != nil {
		return err
	}
	path, release, err := e.LockSpecFile(ctx, name, "edit it")
	if err != nil {
		return err
	}
	defer release()
	if err := e.judgeSpec(name, "", data); err != nil {
		return fail.NeedsRoot(fmt.Errorf("%w: %w (nothing was written)", layout.ErrInvalidSpec, err), "reading "+e.Layout.InstancesDir())
	}
	if err := specedit.Replace(path, data); err != nil {
		return fail.NeedsRoot(err, "writing "+path)
	}
	fmt.Fprintf(e.Stdout, "wrote %s\n", path)
	return e.Reload(ctx, nil, "the spec was written")
}

// judgeSpec judges data as name's spec as the generator will once it is
// written: with the other specs, the ports running servers hold and the
// host's ceilings, as the newest spec (which loses a port another also
// claims, even one now refused for it). path names it in errors ("": its
// file).
func (e *Env) judgeSpec(name, path string, data []byte) error {
	_, err := spec.JudgeText(e.Layout, name, data, path)
	return err
}

// webHosts are the Host headers the panel answers: its loopback
// addresses by any of their names, a specific address it listens on, and
// the public URL's host.
func webHosts(ls []net.Listener, public *url.URL) []string {
	var hosts []string
	for _, l := range ls {
		a, ok := l.Addr().(*net.TCPAddr)
		if !ok {
			continue
		}
		p := strconv.Itoa(a.Port)
		hosts = append(hosts, "localhost:"+p, "127.0.0.1:"+p, "[::1]:"+p)
		if !a.IP.IsUnspecified() && !a.IP.IsLoopback() {
			hosts = append(hosts, strings.ToLower(net.JoinHostPort(a.IP.String(), p)))
		}
	}
	if public != nil {
		hosts = append(hosts, strings.ToLower(public.Host))
	}
	return hosts
}
