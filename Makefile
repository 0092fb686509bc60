# qpsmtpd: hand-written; `make` builds ./qpsmtpd. The compile and link
# commands are the first lines of conf-cc and conf-ld.
#   make PLUGINS=FILE           build with another plugins file
#   make BIN=path PLUGINS=FILE  build a second binary (tests do this)
#   make check                  run the test suite (tests/run)
#   make sanitize               ASan/UBSan build, then the test suite
#   make bench                  the benchmark (bench/run)

CC_CMD ?= $(shell head -n 1 conf-cc)
LD_CMD ?= $(shell head -n 1 conf-ld)
LIBS = /usr/lib/libowfat.a $(firstword $(wildcard /usr/lib/*/libbearssl.a /usr/lib/libbearssl.a))

PLUGINS := $(firstword $(wildcard config/plugins) control/plugins)
BIN = qpsmtpd
TAB = $(BIN)-plugintab

CORE = addr.o control.o data.o fortify.o hooks.o io.o line.o log.o notes.o \
       received.o regex.o reject.o reply.o sessctl.o smtp.o spool.o txn.o
PLUGIN_SRC := $(shell find plugins -name '*.c' | sort)
PLUGIN_OBJ = $(PLUGIN_SRC:.c=.o)
HDRS = session.h plugin.h spool.h

.PHONY: it check sanitize bench clean FORCE
it: $(BIN)

%.o: %.c $(HDRS) conf-cc
	$(CC_CMD) -I. -c $< -o $@

addr.o smtp.o: addr.h
plugins/badmailfrom.o plugins/badrcptto.o: plugins/badlist.h regex.h
regex.o: regex.h
plugins/helo.o plugins/rcpt_regexp.o: regex.h
plugins/rcpt_map.o plugins/rcpt_regexp.o plugins/hosts_allow.o: plugins/retcode.h

libqp.a: $(CORE)
	rm -f $@ && ar cr $@ $(CORE)

plugins.a: $(PLUGIN_OBJ)
	rm -f $@ && ar cr $@ $(PLUGIN_OBJ)

# the chain is regenerated on every build, but the file only changes when
# the plugins file or its $include files say something new
$(TAB).c: FORCE
	./make-plugintab $(PLUGINS) > $(TAB).c.tmp
	if cmp -s $(TAB).c.tmp $(TAB).c; then rm -f $(TAB).c.tmp; else mv $(TAB).c.tmp $(TAB).c; fi

$(TAB).o: $(TAB).c plugin.h conf-cc
	$(CC_CMD) -I. -c $(TAB).c -o $@

# the link is checked by running -V: it runs every plugin's argument check,
# so a bad argument in the plugins file fails the build
$(BIN): qpsmtpd.o $(TAB).o libqp.a plugins.a conf-ld
	$(LD_CMD) -o $@.tmp qpsmtpd.o $(TAB).o plugins.a libqp.a $(LIBS)
	@$(if $(filter /%,$@),,./)$@.tmp -V > /dev/null || { rm -f $@.tmp; echo "bad plugin arguments in $(PLUGINS)" >&2; exit 1; }
	mv $@.tmp $@

check: it
	tests/run

# ASan and UBSan need glibc and a dynamic link; the test chains are built
# with the same commands through the environment
SAN_CC = gcc -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -Wall -Wextra -Wstrict-prototypes -Wno-unused-parameter -Werror
SAN_LD = gcc -fsanitize=address,undefined
sanitize:
	$(MAKE) clean
	CC_CMD="$(SAN_CC)" LD_CMD="$(SAN_LD)" $(MAKE)
	CC_CMD="$(SAN_CC)" LD_CMD="$(SAN_LD)" QPSMTPD_SANITIZE=1 tests/run
	$(MAKE) clean

bench: it
	bench/run

clean:
	rm -f *.o plugins/*.o plugins/*/*.o *.a qpsmtpd qpsmtpd.tmp *-plugintab.c *-plugintab.c.tmp
