# qpsmtpd: hand-written; `make` builds ./qpsmtpd. The compile and link
# commands are the first lines of conf-cc and conf-ld.
#   make PLUGINS=FILE           build with another plugins file (and
#                               ./qpsmtpd-submission from SUBMISSION_PLUGINS)
#   make BIN=path PLUGINS=FILE  build a second binary (tests do this)
#   make check                  run the test suite (tests/run)
#   make check-includes         no include cycle among the modules, no code in headers
#   make sanitize               ASan/UBSan build, then the test suite
#   make hardened               hardened glibc build, then the test suite
#   make fuzz [FUZZ_SECONDS=N]  the libFuzzer harnesses in fuzz/, N seconds each
#   make fuzz-regress           the harnesses over their saved inputs (tests do this)
#   make afl [AFL_SECONDS=N]    AFL++ on the whole daemon through stdin (make fuzz runs it last)
#   make bench                  the benchmark (bench/run)
#   make hotlist                profile the default chain again and relink (hot.ld)
#   make install [PREFIX=/usr/local] [DESTDIR=]   see INSTALL below; make uninstall
# Header dependencies come from the compiler (-MMD -MP, the .d files next
# to each object); hot.ld, the generated half of the link layout, is made
# here too (see conf-ld): neither is committed.

MAKEFLAGS += --no-builtin-rules
CC_CMD ?= $(shell head -n 1 conf-cc)
LD_CMD ?= $(shell head -n 1 conf-ld)
# every compiler here (gcc, musl-gcc, clang, afl-clang-fast) writes the
# headers an object was built from into a .d file beside it
DEP = -MMD -MP
# libsodium: Ed25519 for DKIM (RFC 8463), which BearSSL lacks
LIBS = /usr/lib/libowfat.a $(firstword $(wildcard /usr/lib/*/libbearssl.a /usr/lib/libbearssl.a)) \
       $(firstword $(wildcard /usr/lib/*/libsodium.a /usr/lib/libsodium.a)) -lm

DEFAULT_PLUGINS := $(firstword $(wildcard config/plugins) control/plugins)
PLUGINS := $(DEFAULT_PLUGINS)
# the submission chain (port 587): ./qpsmtpd-submission, built beside ./qpsmtpd
SUBMISSION_PLUGINS := $(firstword $(wildcard config/plugins-submission) control/plugins-submission)
# Perl's logging file beside the plugins file: its (logging) plugins come first
LOGGING = $(wildcard $(dir $(PLUGINS))logging)
BIN = qpsmtpd
TAB = $(BIN)-plugintab

# fortify.o: glibc's checking functions for musl, qmalloc.o: its allocator,
# sysclock.o: its clock without the vDSO; a glibc build sets FORTIFY=.
# They are linked as objects, not from libqp.a: libowfat.a and
# libbearssl.a call them, and an archive is searched only once (libqp.a
# is named once, before the libraries)
FORTIFY ?= fortify.o qmalloc.o sysclock.o
CORE = addr.o auth.o authres.o config.o connection.o control.o data.o dns_query.o env.o hooks.o hookreply.o io.o karma.o line.o log.o \
       message.o notes.o privdrop.o queue.o received.o regex.o reject.o reply.o sasl.o smtp.o smtp_disconnect.o spool.o starttls.o tls.o \
       tls_pem.o tls_policy.o tls_ec.o tls_cache.o txn.o txn_header.o txn_rcpt.o ucspitls.o
CORE += netio.o kvstore.o
CORE += control_parse.o pdrecord.o spawn.o
# SPF (RFC 7208): the engine and its DNS on dns_query.c
CORE += spf.o spf_macro.o spf_dns.o
# DMARC (RFC 7489) and the Public Suffix List, compiled in (psl-data.c)
CORE += dmarc.o psl.o psl_hash.o psl-data.o
# DKIM (RFC 6376, 8301, 8463), ARC (RFC 8617)
CORE += dkim.o arc.o
# uribl's scanner, pure bytes to names (fuzz/fuzz_uribl.c)
CORE += uribl_scan.o
# rspamd's answer to /checkv2 (fuzz/fuzz_rspamd.c)
CORE += rspamd_reply.o
# the PROXY protocol header before the greeting
CORE += proxy.o proxy_parse.o
# the milter protocol's packets (plugins/milter.c, fuzz/fuzz_milter.c)
CORE += milter_proto.o
# DSN (RFC 3461) parameters; XCLIENT (Postfix's XCLIENT_README)
CORE += dsn.o smtp_dsn.o xclient.o xclient_parse.o
# the leaf layer: no project header but its own
CORE += base64.o clock.o ecode.o fdio.o header.o include_walk.o ipnet.o wipe.o utf8.o
PLUGIN_SRC := $(shell find plugins -name '*.c' | sort)
PLUGIN_OBJ = $(PLUGIN_SRC:.c=.o)

.PHONY: it check check-includes sanitize hardened fuzz fuzz-regress afl bench hotlist clean install uninstall FORCE
it: $(BIN)

# make (BIN=qpsmtpd) builds the submission binary too, after ./qpsmtpd and
# the same way, as make BIN=... does a test chain; the tests' own chains
# (make BIN=path) do not
ifeq ($(BIN),qpsmtpd)
it: qpsmtpd-submission
qpsmtpd-submission: qpsmtpd FORCE
	@$(MAKE) --no-print-directory BIN=qpsmtpd-submission PLUGINS=$(SUBMISSION_PLUGINS) qpsmtpd-submission
endif

%.o: %.c conf-cc
	$(CC_CMD) $(DEP) -I. -c $< -o $@

libqp.a: $(CORE)
	rm -f $@ && ar cr $@ $(CORE)

plugins.a: $(PLUGIN_OBJ)
	rm -f $@ && ar cr $@ $(PLUGIN_OBJ)

# the chain generator runs on the build machine: the host's compiler
HOST_CC = cc -O2 -Wall -Wextra -Wstrict-prototypes -Werror
make-plugintab: make-plugintab.c plugintab_parse.c include_walk.c
	$(HOST_CC) -o $@ make-plugintab.c plugintab_parse.c include_walk.c
	$(HOST_CC) -MM -MP -MT $@ make-plugintab.c plugintab_parse.c include_walk.c > $@.d

# the Public Suffix List as a table (make-psl.c; Debian's publicsuffix)
PSL = /usr/share/publicsuffix/public_suffix_list.dat
make-psl: make-psl.c psl_hash.c psl.h
	$(HOST_CC) -o $@ make-psl.c psl_hash.c
psl-data.c: make-psl $(PSL)
	@test -r $(PSL) || { echo "make: $(PSL) is missing: apt-get install publicsuffix" >&2; exit 1; }
	./make-psl $(PSL) > $@.tmp && mv $@.tmp $@

# the chain is regenerated on every build, but the file only changes when
# the plugins file or its $include files say something new
$(TAB).c: FORCE make-plugintab
	./make-plugintab $(PLUGINS) $(LOGGING) > $(TAB).c.tmp
	if cmp -s $(TAB).c.tmp $(TAB).c; then rm -f $(TAB).c.tmp; else mv $(TAB).c.tmp $(TAB).c; fi

$(TAB).o: $(TAB).c conf-cc
	$(CC_CMD) $(DEP) -I. -c $(TAB).c -o $@

# the link-time layout (see conf-ld): layout.ld is written by hand, hot.ld
# is generated from one plain session of the default binary's chain, run
# under callgrind (bench/profile, bench/hotlist) on a copy linked without
# hot.ld and unstripped. When the default binary's code changes, hot.ld is
# made again (a second or two); other binaries (make BIN=...: the test chains)
# take it as it is, made first when missing. Without valgrind, hot.ld is a
# stub, the link has only layout.ld, and every make says so and tries again.
comma := ,
HOT = -Wl$(comma)-T$(comma)hot.ld
LAYOUT = $(filter layout.ld,$(subst $(comma), ,$(LD_CMD)))
ifneq ($(filter $(HOT),$(LD_CMD)),)
ifeq ($(BIN)$(PLUGINS),qpsmtpd$(DEFAULT_PLUGINS))
LAYOUT += hot.ld
hot.ld: qpsmtpd.o $(TAB).o libqp.a plugins.a $(FORTIFY) conf-ld layout.ld bench/hotlist bench/profile \
        $(if $(shell grep -l 'no profile' hot.ld 2> /dev/null),FORCE)
	@rm -rf bench/.work/hot && mkdir -p bench/.work/hot
	$(filter-out -s $(HOT),$(LD_CMD)) -Wl,-Map=bench/.work/hot/map -o bench/.work/hot/qpsmtpd qpsmtpd.o $(TAB).o plugins.a libqp.a $(FORTIFY) $(LIBS)
	@if bench/profile --bin bench/.work/hot/qpsmtpd --keep bench/.work/hot > bench/.work/hot/log 2>&1; then \
	  bench/hotlist --map bench/.work/hot/map bench/.work/hot/cg.* > hot.ld.tmp; \
	else \
	  cat bench/.work/hot/log >&2; \
	  echo "make: WARNING: no profile for hot.ld (apt-get install valgrind python3): linking without" >&2; \
	  echo "make: WARNING: the hot-code layout, a session's peak RSS grows by about 24 KB" >&2; \
	  printf '/* no profile: bench/profile failed, see make'"'"'s output; make tries again */\nSECTIONS { .text.hot : { } }\nINSERT BEFORE .text;\n' > hot.ld.tmp; \
	fi
	@rm -rf bench/.work/hot && mv hot.ld.tmp hot.ld
else
LAYOUT += | hot.ld
hot.ld:
	$(MAKE) BIN=qpsmtpd PLUGINS=$(DEFAULT_PLUGINS) hot.ld
endif
endif
hotlist:
	rm -f hot.ld
	$(MAKE) it

# the link is checked by running -V: it runs every plugin's argument check,
# so a bad argument in the plugins file fails the build
$(BIN): qpsmtpd.o $(TAB).o libqp.a plugins.a $(FORTIFY) conf-ld $(LAYOUT)
	$(LD_CMD) -o $@.tmp qpsmtpd.o $(TAB).o plugins.a libqp.a $(FORTIFY) $(LIBS)
	@$(if $(filter /%,$@),,./)$@.tmp -V > /dev/null || { rm -f $@.tmp; echo "bad plugin arguments in $(PLUGINS)" >&2; exit 1; }
	mv $@.tmp $@

check: it
	tests/run

# the modules' include graph has no cycle and no header holds code (the
# test suite runs this too: tests/include-graph.bats)
check-includes:
	dev/check-includes

# ASan and UBSan need glibc and a dynamic link, and ASan's own allocator
# (FORTIFY= leaves out fortify.o, qmalloc.o and sysclock.o: qmalloc runs checked in
# fuzz/fuzz_qmalloc.c instead); the test chains are built with the same
# commands through the environment
SAN_CC = gcc -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -Wall -Wextra -Wstrict-prototypes -Wno-unused-parameter -Werror
SAN_LD = gcc -fsanitize=address,undefined
# SANITIZE_TESTS=FILE... runs only those test files (CI runs the files that
# push hostile bytes through the parsers; make sanitize alone runs them all)
sanitize:
	$(MAKE) clean
	FORTIFY= CC_CMD="$(SAN_CC)" LD_CMD="$(SAN_LD)" $(MAKE)
	FORTIFY= CC_CMD="$(SAN_CC)" LD_CMD="$(SAN_LD)" QPSMTPD_SANITIZE=1 tests/run $(SANITIZE_TESTS)
	$(MAKE) clean

# glibc with the hardening flags: fortified string functions (glibc has
# them: no fortify.o), stack protector and clash protection, CET, PIE with
# full RELRO; the test chains are built with the same commands.
# HARDENED_TESTS=FILE... runs only those test files (CI runs the security
# checklist there; the whole suite runs under make sanitize)
HARD_CC = gcc -O2 -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fstack-clash-protection \
          -fcf-protection -fPIE -Wall -Wextra -Wstrict-prototypes -Wno-unused-parameter -Werror
HARD_LD = gcc -pie -Wl,-z,relro,-z,now,-z,noexecstack
hardened:
	$(MAKE) clean
	FORTIFY= CC_CMD="$(HARD_CC)" LD_CMD="$(HARD_LD)" $(MAKE)
	FORTIFY= CC_CMD="$(HARD_CC)" LD_CMD="$(HARD_LD)" QPSMTPD_HARDENED=1 tests/run $(HARDENED_TESTS)
	$(MAKE) clean

bench: it
	bench/run

# libFuzzer harnesses (fuzz/*.c), each checking a property against a
# reference as well as ASan/UBSan; a short run of each from its seed corpus
FUZZ_CC = clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
          -I. -idirafter /usr/include -Wall -Wextra -Wno-unused-parameter -Werror
# (qmalloc.c is not linked in: fuzz_qmalloc.c includes it, renamed)
FUZZ_SRC = $(filter-out fortify.c qmalloc.c,$(CORE:.o=.c)) plugintab_parse.c
FUZZ_HARNESSES = $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SECONDS = 20
# FUZZ_AFL=0: the libFuzzer harnesses only, without the AFL++ run (make afl)
FUZZ_AFL = 1
fuzz: make-plugintab
	mkdir -p fuzz/bin
	: > fuzz/bin/empty.plugins
	./make-plugintab fuzz/bin/empty.plugins > fuzz/bin/plugintab.c
	$(MAKE) -j2 $(FUZZ_HARNESSES:%=fuzz/bin/fuzz_%)
	for h in $(FUZZ_HARNESSES); do \
	  mkdir -p fuzz/bin/corpus-$$h fuzz/corpus/$$h; \
	  echo "fuzz $$h: $(FUZZ_SECONDS) s"; \
	  fuzz/bin/fuzz_$$h -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -timeout=10 -print_final_stats=1 \
	    -artifact_prefix=fuzz/bin/crash-$$h- fuzz/bin/corpus-$$h fuzz/corpus/$$h > fuzz/bin/log-$$h 2>&1; \
	  st=$$?; grep -E '^(stat::number_of_executed_units|SUMMARY)' fuzz/bin/log-$$h; \
	  [ $$st -eq 0 ] || { tail -n 40 fuzz/bin/log-$$h; echo "fuzz $$h FAILED: see fuzz/bin/crash-$$h-*"; exit 1; }; \
	done
	[ "$(FUZZ_AFL)" = 0 ] || $(MAKE) afl

# the core is compiled once for every harness
FUZZ_OBJ = $(addprefix fuzz/bin/obj/,$(FUZZ_SRC:.c=.o)) fuzz/bin/obj/plugintab.o
fuzz/bin/obj/plugintab.o: fuzz/bin/plugintab.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(DEP) -c -o $@ $<
fuzz/bin/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(DEP) -c -o $@ $<
fuzz/bin/fuzz_%: fuzz/fuzz_%.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(DEP) -o $@ $< $(FUZZ_OBJ) $(LIBS)

# AFL++ on the whole daemon (the chain in AFL_PLUGINS) through stdin, built
# with ASan and UBSan on glibc under fuzz/bin/afl; fuzz/afl installs AFL++
# when missing, sets up the sessions' world and runs afl-fuzz for AFL_SECONDS
AFL_SECONDS = 60
AFL_PLUGINS = control/plugins
AFLFUZZ_DIR = fuzz/bin/afl
AFLFUZZ_CC = afl-clang-fast -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
         -fno-omit-frame-pointer -I. -Wall -Wextra -Wstrict-prototypes -Wno-unused-parameter -Werror
AFLFUZZ_OBJ = $(addprefix $(AFLFUZZ_DIR)/,qpsmtpd.o plugintab.o $(FUZZ_SRC:.c=.o))
afl:
	fuzz/afl install
	$(MAKE) $(AFLFUZZ_DIR)/qpsmtpd $(AFLFUZZ_DIR)/sink
	fuzz/afl run $(AFLFUZZ_DIR)/qpsmtpd $(AFL_SECONDS)

$(AFLFUZZ_DIR)/%.o: %.c
	@mkdir -p $(@D)
	AFL_QUIET=1 $(AFLFUZZ_CC) $(DEP) -c $< -o $@

$(AFLFUZZ_DIR)/plugintab.c: FORCE make-plugintab
	@mkdir -p $(@D)
	./make-plugintab $(AFL_PLUGINS) > $@.tmp
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(AFLFUZZ_DIR)/plugintab.o: $(AFLFUZZ_DIR)/plugintab.c
	AFL_QUIET=1 $(AFLFUZZ_CC) $(DEP) -c $< -o $@

$(AFLFUZZ_DIR)/plugins.a: $(addprefix $(AFLFUZZ_DIR)/,$(PLUGIN_OBJ))
	rm -f $@ && ar cr $@ $^

$(AFLFUZZ_DIR)/qpsmtpd: $(AFLFUZZ_OBJ) $(AFLFUZZ_DIR)/plugins.a
	AFL_QUIET=1 $(AFLFUZZ_CC) -o $@ $(AFLFUZZ_OBJ) $(AFLFUZZ_DIR)/plugins.a $(LIBS)

$(AFLFUZZ_DIR)/sink: bench/sink.c
	cc -O2 -Wall -Wextra -Werror -o $@ bench/sink.c

# the harnesses without libFuzzer (fuzz/regress_main.c) over their seed
# corpus and fuzz/regress/NAME/, the inputs that once failed: the test
# suite runs this (tests/fuzz-regress.bats)
REGRESS_CC = clang -g -O0 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
             -I. -idirafter /usr/include -Wall -Wextra -Wno-unused-parameter -Werror
REGRESS_OBJ = $(patsubst %.c,fuzz/bin/regress/%.o,$(FUZZ_SRC)) fuzz/bin/regress/plugintab.o
fuzz/bin/regress/plugintab.o: FORCE make-plugintab
	mkdir -p fuzz/bin/regress
	: > fuzz/bin/empty.plugins
	./make-plugintab fuzz/bin/empty.plugins > fuzz/bin/regress/plugintab.c
	$(REGRESS_CC) $(DEP) -c fuzz/bin/regress/plugintab.c -o $@
fuzz/bin/regress/%.o: %.c
	@mkdir -p fuzz/bin/regress
	$(REGRESS_CC) $(DEP) -c $< -o $@
fuzz-regress: $(REGRESS_OBJ)
	rm -f fuzz/bin/regress/core.a && ar cr fuzz/bin/regress/core.a $(REGRESS_OBJ)
	for h in $(FUZZ_HARNESSES); do \
	  $(REGRESS_CC) -o fuzz/bin/regress/fuzz_$$h fuzz/fuzz_$$h.c fuzz/regress_main.c \
	    fuzz/bin/regress/core.a $(LIBS) || exit 1; \
	  fuzz/bin/regress/fuzz_$$h $$(ls -d fuzz/corpus/$$h fuzz/regress/$$h 2>/dev/null) || exit 1; \
	done

# INSTALL. make install puts in $(DESTDIR):
#   $(SBINDIR): qpsmtpd, qpsmtpd-submission and qpsmtpd-build (qpsmtpd-build.8)
#   $(MANDIR)/man8: qpsmtpd.8, qpsmtpd-build.8
#   $(LIBDIR): what qpsmtpd-build links a new chain from, the same way as
#     the link above: qpsmtpd.o, libqp.a, plugins.a, $(FORTIFY), layout.ld
#     and hot.ld, make-plugintab, the headers (include/), the plugins'
#     sources (plugins/: make-plugintab checks names against them) and
#     build.conf, the compile and link commands and libraries used here
#   $(UNITDIR): the systemd socket and service units (systemd/)
#   $(SHAREDIR)/service: daemontools / runit service directories for the
#     three services (run, log/run; config, the binaries: symlinks)
#   $(SHAREDIR)/config: the sample configuration, and in $(CONFDIR) each
#     of its files that is not there yet (an installed file is never replaced)
#   $(STATEDIR): the units' working directory, with config, a symbolic
#     link to $(CONFDIR) (the daemon's ./config)
# Paths inside the installed files (units, qpsmtpd-build, service dirs)
# are the installed ones, without DESTDIR.
PREFIX = /usr/local
SBINDIR = $(PREFIX)/sbin
LIBDIR = $(PREFIX)/lib/qpsmtpd
SHAREDIR = $(PREFIX)/share/qpsmtpd
MANDIR = $(PREFIX)/share/man
UNITDIR = $(PREFIX)/lib/systemd/system
CONFDIR = /etc/qpsmtpd
STATEDIR = /var/lib/qpsmtpd
INSTALL_PLUGINS = $(filter-out plugins/lib/% plugins/tests/%,$(PLUGIN_SRC))
INSTALL_LAYOUT = $(wildcard layout.ld hot.ld)
UNITS = $(wildcard systemd/*.socket systemd/*.service)
SAMPLE_CONFIG = plugins plugins-submission loglevel submission/tls_before_auth
SUBST = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@CONFDIR@|$(CONFDIR)|g' -e 's|@STATEDIR@|$(STATEDIR)|g'
# a service directory's run: the wrapper's settings, then run itself
svc_run = { sed -e '/^exec \.\/run$$/,$$d' $(1); sed -e 1d run; } > $(2) && chmod 755 $(2)

install: it make-plugintab
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(LIBDIR)/include $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SHAREDIR)/config/submission $(DESTDIR)$(CONFDIR)/submission $(DESTDIR)$(STATEDIR)
	ln -sfn $(CONFDIR) $(DESTDIR)$(STATEDIR)/config
	install -m 755 qpsmtpd qpsmtpd-submission $(DESTDIR)$(SBINDIR)/
	$(SUBST) qpsmtpd-build > $(DESTDIR)$(SBINDIR)/qpsmtpd-build && chmod 755 $(DESTDIR)$(SBINDIR)/qpsmtpd-build
	install -m 644 qpsmtpd.8 qpsmtpd-build.8 $(DESTDIR)$(MANDIR)/man8/
	ln -sf qpsmtpd.8 $(DESTDIR)$(MANDIR)/man8/qpsmtpd-submission.8
	install -m 644 qpsmtpd.o libqp.a plugins.a $(FORTIFY) $(INSTALL_LAYOUT) $(DESTDIR)$(LIBDIR)/
	install -m 755 make-plugintab $(DESTDIR)$(LIBDIR)/
	install -m 644 *.h $(DESTDIR)$(LIBDIR)/include/
	for f in $(INSTALL_PLUGINS); do install -D -m 644 $$f $(DESTDIR)$(LIBDIR)/$$f || exit 1; done
	{ echo '# written by make install: the commands and inputs of the link (qpsmtpd-build)'; \
	  printf "CC_CMD='%s'\nLD_CMD='%s'\nFORTIFY='%s'\nLIBS='%s'\n" '$(CC_CMD)' '$(LD_CMD)' '$(FORTIFY)' '$(LIBS)'; \
	} > $(DESTDIR)$(LIBDIR)/build.conf
	for u in $(UNITS); do $(SUBST) $$u > $(DESTDIR)$(UNITDIR)/$${u#systemd/} || exit 1; done
	chmod 644 $(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNITS)))
	install -m 644 control/plugins control/plugins-submission $(DESTDIR)$(SHAREDIR)/config/
	echo 4 > $(DESTDIR)$(SHAREDIR)/config/loglevel
	echo 1 > $(DESTDIR)$(SHAREDIR)/config/submission/tls_before_auth
	for f in $(SAMPLE_CONFIG); do \
	  [ -e $(DESTDIR)$(CONFDIR)/$$f ] || install -m 644 $(DESTDIR)$(SHAREDIR)/config/$$f $(DESTDIR)$(CONFDIR)/$$f || exit 1; done
	for d in qpsmtpd qpsmtpd-submission qpsmtpd-smtps; do \
	  install -d $(DESTDIR)$(SHAREDIR)/service/$$d/log && install -m 755 log/run $(DESTDIR)$(SHAREDIR)/service/$$d/log/run && \
	  ln -sfn $(CONFDIR) $(DESTDIR)$(SHAREDIR)/service/$$d/config && \
	  ln -sfn $(SBINDIR)/qpsmtpd $(DESTDIR)$(SHAREDIR)/service/$$d/qpsmtpd && \
	  ln -sfn $(SBINDIR)/qpsmtpd-submission $(DESTDIR)$(SHAREDIR)/service/$$d/qpsmtpd-submission || exit 1; done
	install -m 755 run $(DESTDIR)$(SHAREDIR)/service/qpsmtpd/run
	$(call svc_run,run-submission,$(DESTDIR)$(SHAREDIR)/service/qpsmtpd-submission/run)
	{ printf '#!/bin/sh\n# port 465: the submission chain (RFC 8314), as the qpsmtpd-smtps units\nQPSMTPD_BIN=./qpsmtpd-submission QPSMTPD_CONFIG=config/submission\nexport QPSMTPD_BIN QPSMTPD_CONFIG\n'; \
	  sed -e 1d -e '/^exec \.\/run$$/,$$d' run-smtps; sed -e 1d run; } > $(DESTDIR)$(SHAREDIR)/service/qpsmtpd-smtps/run
	chmod 755 $(DESTDIR)$(SHAREDIR)/service/qpsmtpd-smtps/run

# removes what make install put there, but $(CONFDIR), which holds the
# site's configuration
uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,qpsmtpd qpsmtpd-submission qpsmtpd-build)
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,qpsmtpd.8 qpsmtpd-submission.8 qpsmtpd-build.8)
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNITS)))
	rm -rf $(DESTDIR)$(LIBDIR) $(DESTDIR)$(SHAREDIR)
	rm -f $(DESTDIR)$(STATEDIR)/config
	-rmdir $(DESTDIR)$(STATEDIR)

clean:
	rm -f *.o plugins/*.o plugins/*/*.o plugins/*/*/*.o *.d plugins/*.d plugins/*/*.d plugins/*/*/*.d *.a qpsmtpd qpsmtpd.tmp qpsmtpd-submission qpsmtpd-submission.tmp make-plugintab *-plugintab.c.tmp
	rm -f make-psl psl-data.c psl-data.c.tmp
	rm -f hot.ld hot.ld.tmp
	rm -rf bench/.work/hot
	rm -f $(filter-out make-plugintab.c,$(wildcard *-plugintab.c))
	rm -rf fuzz/bin

# the headers each object was built from (-MMD -MP above), in every
# flavour; an object whose .d is missing is built again (the .d is not a
# prerequisite: clang writes it after the object)
DEPFILES = $(patsubst %.o,%.d,qpsmtpd.o $(TAB).o $(CORE) fortify.o qmalloc.o sysclock.o $(PLUGIN_OBJ) \
             $(FUZZ_OBJ) $(REGRESS_OBJ) $(AFLFUZZ_OBJ) $(addprefix $(AFLFUZZ_DIR)/,$(PLUGIN_OBJ)))
HAVE_DEP := $(wildcard $(DEPFILES))
$(patsubst %.d,%.o,$(filter-out $(HAVE_DEP),$(DEPFILES))): FORCE
-include $(HAVE_DEP) $(wildcard make-plugintab.d fuzz/bin/*.d)
