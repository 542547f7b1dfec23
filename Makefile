# left4me build, install and test entry points.
PREFIX  ?= /usr
DESTDIR ?=
GO      ?= go
BUILD   := build
GOFLAGS_BUILD := -trimpath -ldflags=-s\ -w
export CGO_ENABLED := 0

BINS := left4me-generator left4me-prestart left4me-poststop

.PHONY: all build standin install test unit e2e lint clean
all: build

build: $(addprefix $(BUILD)/,$(BINS))

$(BUILD)/%: FORCE
	$(GO) build $(GOFLAGS_BUILD) -o $@ ./cmd/$*

# The stand-in game server used by the end-to-end tests (never installed).
standin: $(BUILD)/srcds_run
$(BUILD)/srcds_run: FORCE
	$(GO) build $(GOFLAGS_BUILD) -o $@ ./tests/standin

install: build
	install -Dm0755 $(BUILD)/left4me-generator $(DESTDIR)$(PREFIX)/lib/systemd/system-generators/left4me-generator
	install -Dm0755 $(BUILD)/left4me-prestart $(DESTDIR)$(PREFIX)/lib/left4me/left4me-prestart
	install -Dm0755 $(BUILD)/left4me-poststop $(DESTDIR)$(PREFIX)/lib/left4me/left4me-poststop
	install -Dm0644 packaging/sysusers.conf $(DESTDIR)$(PREFIX)/lib/sysusers.d/left4me.conf
	install -Dm0644 packaging/tmpfiles.conf $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/left4me.conf
	install -d $(DESTDIR)/etc/left4me/instances
	@# On a live host (no DESTDIR) do what a package's postinst does.
	@if [ -z "$(DESTDIR)" ]; then \
		systemd-sysusers $(PREFIX)/lib/sysusers.d/left4me.conf && \
		systemd-tmpfiles --create $(PREFIX)/lib/tmpfiles.d/left4me.conf && \
		{ systemctl daemon-reload 2>/dev/null || echo "systemd not running: units appear at next boot"; }; \
	fi

# Every test: unit tests, mount tests (as root) and the end-to-end suite,
# which boots systemd in a container (as root; see tests/e2e).
test: lint build standin
	$(GO) test -count=1 -timeout 30m ./...

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) tool staticcheck ./...

clean:
	rm -rf $(BUILD)

FORCE:
