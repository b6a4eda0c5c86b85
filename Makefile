# dms: see README.md.
GO       ?= go
BIN      := bin/dms
RUN_DB   := var/dms.db
FUZZTIME ?= 10s

.PHONY: build run test test-go test-race fuzz-smoke fuzz bench bench-scale bench-startup bench-go bench-store bench-xfr bench-dnssec bench-sign lint deps clean man install uninstall

build:
	$(GO) build -o $(BIN) ./cmd/dms

# make install: bin/dms to $(BINDIR), a man page per command (dms man) to
# $(MANDIR)/man1, README.md to $(DOCDIR), and the systemd units of
# packaging/ (dms.service, dms-backup.service and .timer; not enabled) to
# $(SYSTEMDDIR), their /usr/bin/dms and /usr/share/doc/dms paths changed to
# these. SYSTEMDDIR is the admin's unit directory, not under PREFIX
# (/lib/systemd/system is the distribution's). DESTDIR stages it all under
# another root (make install DESTDIR=/tmp/stage).
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/dms
SYSTEMDDIR ?= /etc/systemd/system
MANBUILD   ?= $(dir $(BIN))man
UNITS      := dms.service dms-backup.service dms-backup.timer
# The pages' date: SOURCE_DATE_EPOCH, else the last commit's (the same
# source gives the same pages).
MAN_DATE   ?= $(or $(SOURCE_DATE_EPOCH),$(shell git log -1 --format=%ct 2>/dev/null))

# The man pages, in $(MANBUILD) (bin/man).
man: build
	rm -f $(MANBUILD)/dms.1 $(MANBUILD)/dms-*.1
	SOURCE_DATE_EPOCH=$(MAN_DATE) $(BIN) man --doc-dir $(DOCDIR) $(MANBUILD)

install: man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSTEMDDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/dms
	rm -f $(DESTDIR)$(MANDIR)/man1/dms.1 $(DESTDIR)$(MANDIR)/man1/dms-*.1
	install -m 0644 $(MANBUILD)/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	for u in $(UNITS); do \
		sed -e 's|/usr/bin/dms |$(BINDIR)/dms |g' -e 's|/usr/share/doc/dms/|$(DOCDIR)/|g' packaging/$$u >$(DESTDIR)$(SYSTEMDDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/$$u || exit 1; \
	done
	@echo "installed; to run dms serve as the unit does (as root): useradd --system --no-create-home --home-dir /var/lib/dms --shell /usr/sbin/nologin dms; systemctl daemon-reload; systemctl enable --now dms"

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/dms $(DESTDIR)$(MANDIR)/man1/dms.1 $(DESTDIR)$(MANDIR)/man1/dms-*.1
	rm -f $(DESTDIR)$(DOCDIR)/README.md
	-rmdir $(DESTDIR)$(DOCDIR)
	for u in $(UNITS); do rm -f $(DESTDIR)$(SYSTEMDDIR)/$$u; done

# Serve the example zone from a local store: DNS on 127.0.0.1:5300,
# metrics on 127.0.0.1:9153. Try: dig @127.0.0.1 -p 5300 example.test MX
run: build
	@mkdir -p var
	@if ! ./$(BIN) --db $(RUN_DB) zone info example.test >/dev/null 2>&1; then \
		./$(BIN) --db $(RUN_DB) zone load testdata/zones/example.test; fi
	./$(BIN) --db $(RUN_DB) serve --listen 127.0.0.1:5300 --metrics-listen 127.0.0.1:9153

deps:
	@sh scripts/test-deps.sh

test: deps lint build test-go test-race fuzz-smoke

test-go:
	$(GO) test -count=1 -timeout 8m ./...

# The packages with goroutines sharing the store, under the race detector.
test-race:
	$(GO) test -race -count=1 -timeout 5m ./authserver ./zonedb ./admin ./xfr ./dnssec

# A short run of every fuzz target from the seeds in the repository only
# (a fresh fuzz cache, so inputs gathered by earlier runs on this machine
# cannot make the result differ from a clean machine's; make fuzz keeps
# the gathered corpus). The budget is a number of inputs, not a time: Go
# 1.26's fuzz coordinator can report a spurious "context deadline
# exceeded" when a -fuzztime duration ends (golang/go#75804, fixed in Go
# 1.27); a count has no deadline to race. The test binary is built with
# -fuzz: without it Go mutates blind ("not built with coverage
# instrumentation") and finds only what is near the seeds. About 12-30 s
# a target here (it was 3 s blind).
FUZZ_SMOKE_N ?= 200000x
# Each new interesting input is minimized, by default for up to 60 s,
# during which no input counts: a smoke bounds that too (as a count, for
# the same reason as above).
FUZZ_SMOKE_MIN ?= 2000x
fuzz-smoke:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	for t in zonedb/zonefile:FuzzParse zonedb:FuzzParseCommit authserver:FuzzHandle authserver:FuzzWireMatchesGeneral \
		admin/httpapi:FuzzAPIBody admin:FuzzControlRequest admin:FuzzDynamicUpdate; do \
		pkg=$${t%%:*}; fn=$${t#*:}; \
		$(GO) test -c -fuzz "^$$fn\$$" -o $$tmp/$$fn.test ./$$pkg; \
		(cd $$pkg && $$tmp/$$fn.test -test.run '^$$' -test.fuzz "^$$fn\$$" -test.fuzztime $(FUZZ_SMOKE_N) -test.fuzzminimizetime $(FUZZ_SMOKE_MIN) -test.fuzzcachedir $$tmp/cache-$$fn); \
	done

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./zonedb/zonefile
	$(GO) test -run '^$$' -fuzz '^FuzzParseCommit$$' -fuzztime $(FUZZTIME) ./zonedb
	$(GO) test -run '^$$' -fuzz '^FuzzHandle$$' -fuzztime $(FUZZTIME) ./authserver
	$(GO) test -run '^$$' -fuzz '^FuzzWireMatchesGeneral$$' -fuzztime $(FUZZTIME) ./authserver
	$(GO) test -run '^$$' -fuzz '^FuzzAPIBody$$' -fuzztime $(FUZZTIME) ./admin/httpapi
	$(GO) test -run '^$$' -fuzz '^FuzzControlRequest$$' -fuzztime $(FUZZTIME) ./admin
	$(GO) test -run '^$$' -fuzz '^FuzzDynamicUpdate$$' -fuzztime $(FUZZTIME) ./admin

# dms against knotd and nsd on one zone, with dnsperf (see bench/run.sh).
bench: build
	@sh scripts/test-deps.sh bench
	sh bench/run.sh
	$(MAKE) bench-go


# The same at 1 000 000 names, queries spread uniformly over all of them:
# the mixed set, then every host's A once (no name twice: nothing a cache
# can keep).
bench-scale: build
	@sh scripts/test-deps.sh bench
	NAMES=1000000 ROUNDS=$${ROUNDS:-3} sh bench/run.sh
	NAMES=1000000 ROUNDS=$${ROUNDS:-3} MIX=a sh bench/run.sh

# dms serve's start-up (exec to first answer) for 1 and 10 000 zones and
# a 1 000 000-name zone (bench/startup.sh).
bench-startup: build
	sh bench/startup.sh

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin var

# The store figures of issue 2: 1M-record load, record add latency, 10k zones.
bench-store: build
	sh scripts/bench-store.sh

# The same with the zone signed (NSEC3, algorithm 13; knotd and nsd serve
# dms's signed zone presigned; DO on every query), mixed and NXDOMAIN-only.
bench-dnssec: build
	@sh scripts/test-deps.sh bench
	SIGNED=1 sh bench/run.sh
	SIGNED=1 MIX=nx sh bench/run.sh

# Signing a 1 000 000-record zone, and one signed commit into it.
bench-sign: build
	sh bench/sign.sh

# AXFR of a 1 000 000-record zone from dms and knotd, and an IXFR after one
# change (see bench/xfr.sh).
bench-xfr: build
	@sh scripts/test-deps.sh bench
	sh bench/xfr.sh
