# left4me build, install and test entry points.
PREFIX  ?= /usr
DESTDIR ?=
GO      ?= go
BUILD   := build
# The generator names the helpers in the units it writes: their install
# directory is linked in (a PREFIX=/usr/local install gets /usr/local paths).
# left4me --version prints the tree's git describe.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
GOFLAGS_BUILD := -trimpath -ldflags=-s\ -w\ -X\ main.helperDir=$(PREFIX)/lib/left4me\ -X\ main.version=$(VERSION)
export CGO_ENABLED := 0

BINS := left4me-generator left4me-prestart left4me-poststop left4me-relay left4me

.PHONY: all build standin install test fuzz lint clean
all: build

build: $(addprefix $(BUILD)/,$(BINS))

# A binary is rebuilt when a source file or the link flags (PREFIX,
# VERSION) changed, so `sudo make install` after `make` builds nothing as
# root.
GO_SRC := $(shell find cmd generator prestart spec units -name '*.go' ! -name '*_test.go' 2>/dev/null) go.mod go.sum
# The web panel's embedded pages, script and style.
GO_SRC += $(shell find cmd -path '*/assets/*' -type f 2>/dev/null)
$(BUILD)/.ldflags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(GOFLAGS_BUILD)' | cmp -s - $@ || echo '$(GOFLAGS_BUILD)' > $@
$(BUILD)/%: $(GO_SRC) $(BUILD)/.ldflags
	$(GO) build $(GOFLAGS_BUILD) -o $@ ./cmd/$*

# The manual page and the shell completions, made by the CLI itself from
# its command definitions.
DOCS := $(BUILD)/left4me.1 $(BUILD)/left4me.bash $(BUILD)/left4me.zsh $(BUILD)/left4me.fish
$(BUILD)/left4me.1: $(BUILD)/left4me
	$(BUILD)/left4me man > $@
$(BUILD)/left4me.%: $(BUILD)/left4me
	$(BUILD)/left4me completion $* > $@

# The stand-in game server used by the end-to-end tests (never installed):
# srcds_run, a shell script like Valve's, and the engine srcds_linux, a
# 32-bit x86 program like the real one (the units allow native and x86
# system calls). A kernel without IA-32 emulation cannot run it (execve
# fails with ENOEXEC, as it would for the real one): there the engine is
# built for the host instead, and the build says so. The check runs it
# with no libraries to find, so it exits at once with 255 ("Failed to open
# dedicated_srv.so") when it runs at all. STANDIN_GOARCH= forces one.
STANDIN_GOARCH ?=
standin: $(BUILD)/srcds_run $(BUILD)/srcds_linux $(BUILD)/steamcmd
$(BUILD)/srcds_run: FORCE
	install -Dm0755 tests/standin/srcds_run $@
$(BUILD)/srcds_linux: FORCE
	@if [ -n "$(STANDIN_GOARCH)" ]; then \
		GOARCH=$(STANDIN_GOARCH) $(GO) build $(GOFLAGS_BUILD) -o $@ ./tests/standin; \
	else \
		GOARCH=386 $(GO) build $(GOFLAGS_BUILD) -o $@ ./tests/standin && \
		{ (cd / && LD_LIBRARY_PATH= $(abspath $@) >/dev/null 2>&1); [ $$? -eq 255 ] || { \
			echo "note: this kernel cannot run 32-bit x86 programs (IA-32 emulation is off), so neither could srcds_linux; building the engine stand-in for $$($(GO) env GOARCH) instead"; \
			$(GO) build $(GOFLAGS_BUILD) -o $@ ./tests/standin; }; }; \
	fi

# The stand-in steamcmd used by the tests of `left4me game` (never installed).
$(BUILD)/steamcmd: FORCE
	$(GO) build $(GOFLAGS_BUILD) -o $@ ./tests/steamcmd

# Everything make install puts on the host, for make uninstall.
INSTALLED := $(PREFIX)/lib/systemd/system-generators/left4me-generator \
	$(PREFIX)/lib/left4me/left4me-prestart $(PREFIX)/lib/left4me/left4me-poststop \
	$(PREFIX)/lib/left4me/left4me-relay $(PREFIX)/lib/left4me/left4me-web $(PREFIX)/lib/left4me/left4me-keep-limits \
	$(PREFIX)/bin/left4me $(PREFIX)/lib/sysusers.d/left4me.conf $(PREFIX)/lib/sysusers.d/left4me-build.conf \
	$(PREFIX)/lib/tmpfiles.d/left4me.conf $(PREFIX)/lib/systemd/system/left4me-update.service \
	$(PREFIX)/lib/systemd/system/left4me-update.timer $(PREFIX)/lib/systemd/system/left4me-retry@.service \
	$(PREFIX)/lib/systemd/system/left4me-alert@.service \
	$(PREFIX)/lib/systemd/system/left4me-restart@.service $(PREFIX)/lib/systemd/system/left4me-backup@.service \
	$(PREFIX)/lib/systemd/system/left4me-restart@.timer $(PREFIX)/lib/systemd/system/left4me-backup@.timer \
	$(PREFIX)/lib/systemd/system/left4me-metrics.socket $(PREFIX)/lib/systemd/system/left4me-metrics@.service \
	$(PREFIX)/lib/systemd/system/left4me-web.socket $(PREFIX)/lib/systemd/system/left4me-web.service \
	$(PREFIX)/share/man/man1/left4me.1 \
	$(PREFIX)/lib/systemd/system/left4me-disk.service $(PREFIX)/lib/systemd/system/left4me-disk.timer \
	$(PREFIX)/share/bash-completion/completions/left4me $(PREFIX)/share/zsh/vendor-completions/_left4me \
	$(PREFIX)/share/fish/vendor_completions.d/left4me.fish

install: build $(DOCS)
	install -Dm0644 $(BUILD)/left4me.1 $(DESTDIR)$(PREFIX)/share/man/man1/left4me.1
	install -Dm0644 $(BUILD)/left4me.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/left4me
	install -Dm0644 $(BUILD)/left4me.zsh $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_left4me
	install -Dm0644 $(BUILD)/left4me.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/left4me.fish
	install -Dm0755 $(BUILD)/left4me-generator $(DESTDIR)$(PREFIX)/lib/systemd/system-generators/left4me-generator
	install -Dm0755 $(BUILD)/left4me-prestart $(DESTDIR)$(PREFIX)/lib/left4me/left4me-prestart
	install -Dm0755 $(BUILD)/left4me-poststop $(DESTDIR)$(PREFIX)/lib/left4me/left4me-poststop
	install -Dm0755 $(BUILD)/left4me-relay $(DESTDIR)$(PREFIX)/lib/left4me/left4me-relay
	install -Dm0755 $(BUILD)/left4me $(DESTDIR)$(PREFIX)/bin/left4me
	install -Dm0755 packaging/keep-limits $(DESTDIR)$(PREFIX)/lib/left4me/left4me-keep-limits
	@# The web panel is the same binary under its own name (left4me web serve).
	ln -sfn ../../bin/left4me $(DESTDIR)$(PREFIX)/lib/left4me/left4me-web
	install -Dm0644 packaging/sysusers.conf $(DESTDIR)$(PREFIX)/lib/sysusers.d/left4me.conf
	install -Dm0644 packaging/sysusers-build.conf $(DESTDIR)$(PREFIX)/lib/sysusers.d/left4me-build.conf
	install -Dm0644 packaging/tmpfiles.conf $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/left4me.conf
	sed 's|/usr/bin/left4me|$(PREFIX)/bin/left4me|' units/left4me-update.service > $(BUILD)/left4me-update.service
	install -Dm0644 $(BUILD)/left4me-update.service $(DESTDIR)$(PREFIX)/lib/systemd/system/left4me-update.service
	install -Dm0644 units/left4me-update.timer $(DESTDIR)$(PREFIX)/lib/systemd/system/left4me-update.timer
	sed 's|/usr/bin/left4me|$(PREFIX)/bin/left4me|' 'units/left4me-retry@.service' > '$(BUILD)/left4me-retry@.service'
	install -Dm0644 '$(BUILD)/left4me-retry@.service' '$(DESTDIR)$(PREFIX)/lib/systemd/system/left4me-retry@.service'
	sed 's|/usr/lib/left4me/|$(PREFIX)/lib/left4me/|' units/left4me-disk.service > $(BUILD)/left4me-disk.service
	install -Dm0644 $(BUILD)/left4me-disk.service $(DESTDIR)$(PREFIX)/lib/systemd/system/left4me-disk.service
	install -Dm0644 units/left4me-disk.timer $(DESTDIR)$(PREFIX)/lib/systemd/system/left4me-disk.timer
	sed 's|/usr/bin/left4me|$(PREFIX)/bin/left4me|' 'units/left4me-alert@.service' > '$(BUILD)/left4me-alert@.service'
	install -Dm0644 '$(BUILD)/left4me-alert@.service' '$(DESTDIR)$(PREFIX)/lib/systemd/system/left4me-alert@.service'
	for u in left4me-restart@.service left4me-backup@.service; do \
		sed 's|/usr/bin/left4me|$(PREFIX)/bin/left4me|' "units/$$u" > "$(BUILD)/$$u" && \
		install -Dm0644 "$(BUILD)/$$u" "$(DESTDIR)$(PREFIX)/lib/systemd/system/$$u" || exit 1; done
	install -Dm0644 'units/left4me-restart@.timer' '$(DESTDIR)$(PREFIX)/lib/systemd/system/left4me-restart@.timer'
	install -Dm0644 'units/left4me-backup@.timer' '$(DESTDIR)$(PREFIX)/lib/systemd/system/left4me-backup@.timer'
	install -Dm0644 units/left4me-metrics.socket $(DESTDIR)$(PREFIX)/lib/systemd/system/left4me-metrics.socket
	sed 's|/usr/bin/left4me|$(PREFIX)/bin/left4me|' 'units/left4me-metrics@.service' > '$(BUILD)/left4me-metrics@.service'
	install -Dm0644 '$(BUILD)/left4me-metrics@.service' '$(DESTDIR)$(PREFIX)/lib/systemd/system/left4me-metrics@.service'
	install -Dm0644 units/left4me-web.socket $(DESTDIR)$(PREFIX)/lib/systemd/system/left4me-web.socket
	sed 's|/usr/lib/left4me/|$(PREFIX)/lib/left4me/|' units/left4me-web.service > $(BUILD)/left4me-web.service
	install -Dm0644 $(BUILD)/left4me-web.service $(DESTDIR)$(PREFIX)/lib/systemd/system/left4me-web.service
	install -d $(DESTDIR)/etc/left4me/instances
	install -Dm0644 packaging/needrestart.conf $(DESTDIR)/etc/needrestart/conf.d/left4me.conf
	@# On a live host (no DESTDIR) do what a package's postinst does.
	@if [ -z "$(DESTDIR)" ]; then \
		systemd-sysusers $(PREFIX)/lib/sysusers.d/left4me.conf $(PREFIX)/lib/sysusers.d/left4me-build.conf && \
		systemd-tmpfiles --create $(PREFIX)/lib/tmpfiles.d/left4me.conf && \
		{ $(PREFIX)/lib/left4me/left4me-keep-limits; systemctl daemon-reload 2>/dev/null || echo "systemd not running: units appear at next boot"; }; \
	fi

# Removes what make install installed; the specs, the game, overlays and
# upper layers (/etc/left4me, /var/lib/left4me) are the operator's and stay.
.PHONY: uninstall
uninstall:
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		systemctl stop left4me-web.socket left4me-web.service left4me-update.timer left4me-disk.timer 'left4me-retry@*.service' 'left4me-restart@*.service' l4d2.target 'l4d2@*.service' 2>/dev/null; \
		systemctl disable left4me-update.timer 2>/dev/null; true; \
	fi
	@# The user namespace the start helper pinned for the boot.
	@if [ -z "$(DESTDIR)" ]; then for p in /run/left4me/idmap/userns-*; do \
		[ -e "$$p" ] || continue; umount "$$p" 2>/dev/null; rm -f "$$p"; done; true; fi
	rm -f $(addprefix $(DESTDIR),$(INSTALLED)) $(DESTDIR)/etc/needrestart/conf.d/left4me.conf
	-rmdir $(DESTDIR)$(PREFIX)/lib/left4me 2>/dev/null
	@if [ -z "$(DESTDIR)" ]; then systemctl daemon-reload 2>/dev/null || true; fi
	@echo "left4me removed; your specs (/etc/left4me) and state (/var/lib/left4me) are kept"

# A Debian package of what `make install` installs, built with dpkg-deb
# (DEB_OUT= sets the output directory, VERSION= the version).
.PHONY: deb demo
deb:
	GO="$(GO)" MAKE="$(MAKE)" packaging/deb/build.sh

# Two stand-in servers in a throw-away systemd container, start to stop
# (as root; see tests/demo).
demo:
	@tests/deps.sh demo
	$(GO) run ./tests/demo

# Every test: unit tests, mount tests (as root) and the end-to-end suite,
# which boots systemd in a container (as root; see tests/e2e).
# tests/deps.sh installs what the end-to-end tests need (as root), or says
# which command would.
.PHONY: deps
deps:
	@tests/deps.sh

test: deps lint build standin
	$(GO) test -count=1 -timeout 30m ./...
	@cat $(BUILD)/reliability.txt 2>/dev/null || true
	$(MAKE) fuzz

# The host-sized reliability figures (tests/e2e, LEFT4ME_RELIABILITY=full):
# 50 instances through l4d2.target, 200 start/stop cycles, 20 kill -9s,
# reboots with 50 autostart instances, 20 random kill -9 points and 3
# power cuts per CLI operation. Too long for make test, which runs the
# same tests at a small scale; CI runs both (.ci/run). LEFT4ME_SEED=N
# repeats a run's random points.
.PHONY: reliability
reliability: deps build standin
	@echo "full reliability run, log in $(BUILD)/reliability.log"
	@LEFT4ME_RELIABILITY=full $(GO) test -count=1 -timeout 60m -v -run '^(TestReliability|TestCrashConsistency)$$' ./tests/e2e/ \
		> $(BUILD)/reliability.log 2>&1; status=$$?; \
		grep -E '^(--- |FAIL|ok )|_test.go:[0-9]+: ' $(BUILD)/reliability.log | grep -v 'diagnostics of' | head -300; \
		cat $(BUILD)/reliability.txt; exit $$status

# A short fuzz run of the spec parser on every test run; the corpus found
# stays in the Go cache, the seeds are in the fuzz tests. Bounded by a
# count of executions, not a duration: a duration can end in "context
# deadline exceeded" with no input at fault (golang/go#75804, a race in
# the fuzzing coordinator at the deadline); and each new input's
# minimization by a count too, as its default of 60 s stalled the run.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 150000x -fuzzminimizetime 100x ./spec
	$(GO) test -run '^$$' -fuzz '^FuzzValidateName$$' -fuzztime 100000x -fuzzminimizetime 100x ./spec/layout

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) tool staticcheck ./...
	@# Imports in three groups: standard library, third party, this module.
	@# Imports point the way docs/ARCHITECTURE.md says (go list, no build).
	$(GO) test -count=1 ./tests/layering
	@test -z "$$($(GO) tool goimports -local github.com/left4me/left4me -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { $(GO) tool goimports -local github.com/left4me/left4me -l .; echo "imports need grouping: go tool goimports -local github.com/left4me/left4me -w FILE"; exit 1; }

# Benchmarks, each side by side with the alternative (as root; see
# docs/PERFORMANCE.md): the generator against systemd's fstab generator, the
# helpers against mount(8), memory and disk of N servers against a copy
# each, boot at scale against minimal units, what stays beside a server.
# Builds what it measures with the build rule above. BENCHFLAGS=-quick for
# a fast smoke run.
.PHONY: bench
bench: build standin $(DOCS)
	tests/bench/run.sh $(BENCHFLAGS)

clean:
	rm -rf $(BUILD)

FORCE:
