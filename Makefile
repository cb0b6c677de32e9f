# mapwatch — top-level Makefile (libbpf-bootstrap lineage).
#
#   make            build everything into build/
#   make test       install what is missing, build the sanitized test suite, run it
#                   (the fuzzers only replay the corpus committed in tests/corpus/)
#   make fuzz       run every fuzzer for FUZZ_SECONDS (60) each, growing build/fuzz-corpus/
#   make fuzz-merge add the new finds in build/fuzz-corpus/ to tests/corpus/
#   make demo       start mapsvc (unsafe mode) and open the live view on it
#   make demo-go    the Go demo service (unsafe) under the live view
#   make bench      regenerate the benchmark tables in README.md (BENCH_ONLY=go: only
#                   some of them, see scripts/bench.sh)
#   make bench-load only the fixed-load benchmark (about 25 min; BENCH_ROUNDS=2: about 6)
#   make go         build the Go test programs and gosvc with every Go toolchain
#   make deps       install the Debian packages the project needs
#   make install    install mapwatch, its man page and systemd unit (PREFIX=/usr/local)
#   V=1             show the full commands
#
# Intermediates live under build/: build/obj (release), build/asan (the test
# build, AddressSanitizer + UndefinedBehaviorSanitizer), build/bpf.

OUTPUT   ?= build
CC       := clang
BPF_CC   := clang
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m | sed 's/x86_64/x86/' | sed 's/aarch64/arm64/')
PREFIX   ?= /usr/local
VERSION  := 0.1.0

WARN      := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
# Frame pointers everywhere so user stacks unwind from BPF; no CET so a
# function's first instruction is never an endbr64 the kernel must single-step.
BASEFLAGS := -g -fno-omit-frame-pointer -fcf-protection=none -D_GNU_SOURCE \
             -DMW_VERSION=\"$(VERSION)\" -I. -Itarget -Iuser -Ibpf -I$(OUTPUT)
CFLAGS    ?= -O2
ALL_CFLAGS := $(BASEFLAGS) $(WARN) $(CFLAGS)
SAN       := -fsanitize=address,undefined -fno-sanitize-recover=undefined
ASAN_CFLAGS := $(BASEFLAGS) $(WARN) -O1 $(SAN)

ifeq ($(V),1)
	Q =
	msg =
else
	Q = @
	msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# ---- sources ---------------------------------------------------------------
GOMAP_SRCS  := $(filter-out target/mapsvc.c,$(wildcard target/*.c))
GOMAP_HDRS  := $(wildcard target/*.h)
# user/: everything but main.c and the pieces that need libbpf or ncurses is
# pure and goes into the unit tests too.
USER_SRCS   := $(wildcard user/*.c)
USER_HDRS   := $(wildcard user/*.h) bpf/mapwatch.h
PURE_SRCS   := $(filter-out $(wildcard user/main.c user/agent.c user/loader*.c user/tui*.c user/probe*.c user/sampler*.c user/stacks*.c user/gobin*.c user/gosites*.c user/session*.c user/sink_*.c user/target*.c user/tree*.c),$(USER_SRCS))
BPF_SRCS    := $(wildcard bpf/*.bpf.c)

GOMAP_OBJS      := $(patsubst target/%.c,$(OUTPUT)/obj/target/%.o,$(GOMAP_SRCS))
GOMAP_PIC_OBJS  := $(patsubst target/%.c,$(OUTPUT)/pic/target/%.o,$(GOMAP_SRCS))
USER_OBJS       := $(patsubst user/%.c,$(OUTPUT)/obj/user/%.o,$(USER_SRCS))
ASAN_USER_OBJS  := $(patsubst user/%.c,$(OUTPUT)/asan/user/%.o,$(USER_SRCS))
ASAN_PURE_OBJS  := $(patsubst user/%.c,$(OUTPUT)/asan/user/%.o,$(PURE_SRCS))
ASAN_GOMAP_OBJS := $(patsubst target/%.c,$(OUTPUT)/asan/target/%.o,$(GOMAP_SRCS))
SKELS           := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))

# Unit tests: tests/test_*.c, each one binary under build/asan/tests/.
# tests/test_gomap*.c link the runtime; tests/test_*.c link the pure user/ code.
UNIT_SRCS   := $(wildcard tests/test_*.c)
UNIT_BINS   := $(patsubst tests/%.c,$(OUTPUT)/asan/tests/%,$(UNIT_SRCS))
# End-to-end target programs: tests/progs/*.c linked with libgomap.a.
PROG_SRCS   := $(wildcard tests/progs/*.c)
PROG_BINS   := $(patsubst tests/progs/%.c,$(OUTPUT)/progs/%,$(PROG_SRCS))
# libFuzzer harnesses: tests/fuzz_*.c
FUZZ_SRCS   := $(wildcard tests/fuzz_*.c)
FUZZ_BINS   := $(patsubst tests/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))

LIBS_BPF    := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
LIBS_TUI    := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw)
LIBS_DW     := -ldw -lelf
LIBS_XXH    := -lxxhash
LIBS_CS     := -lcapstone
LIBS_MW     := $(LIBS_BPF) $(LIBS_TUI) $(LIBS_DW) $(LIBS_XXH) $(LIBS_CS) -lpthread -lm

.PHONY: all clean test test-build deps demo demo-go bench bench-load install fuzz fuzz-merge
all: $(OUTPUT)/libgomap.a $(OUTPUT)/libgomap.so $(OUTPUT)/mapsvc $(OUTPUT)/mapsvc-dyn \
     $(if $(USER_SRCS),$(OUTPUT)/mapwatch)

deps:
	$(Q)bash scripts/deps.sh

# ---- the map runtime -------------------------------------------------------
$(OUTPUT)/obj/target/%.o: target/%.c $(GOMAP_HDRS) | $(OUTPUT)/obj/target
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUTPUT)/pic/target/%.o: target/%.c $(GOMAP_HDRS) | $(OUTPUT)/pic/target
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -c $< -o $@

$(OUTPUT)/asan/target/%.o: target/%.c $(GOMAP_HDRS) | $(OUTPUT)/asan/target
	$(call msg,CC,$@)
	$(Q)$(CC) $(ASAN_CFLAGS) -c $< -o $@

$(OUTPUT)/libgomap.a: $(GOMAP_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/libgomap.so: $(GOMAP_PIC_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,libgomap.so $^ -o $@ $(LIBS_XXH) -lpthread

$(OUTPUT)/mapsvc: target/mapsvc.c $(OUTPUT)/libgomap.a $(GOMAP_HDRS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(OUTPUT)/libgomap.a -o $@ $(LIBS_XXH) -lpthread -lm

# Linked against build/libgomap.so and runnable from build/ as it is.
$(OUTPUT)/mapsvc-dyn: target/mapsvc.c $(OUTPUT)/libgomap.so $(GOMAP_HDRS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< -L$(OUTPUT) -lgomap -Wl,-rpath,'$$ORIGIN' -o $@ $(LIBS_XXH) -lpthread -lm

# ---- BPF -------------------------------------------------------------------
$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c bpf/mapwatch.h bpf/uaccess.bpf.h $(OUTPUT)/vmlinux.h | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(BPF_CC) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(OUTPUT) -Ibpf \
		-c $< -o $@.tmp && $(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(OUTPUT)/%.skel.h: $(OUTPUT)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# ---- mapwatch --------------------------------------------------------------
$(OUTPUT)/obj/user/%.o: user/%.c $(USER_HDRS) $(SKELS) | $(OUTPUT)/obj/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUTPUT)/asan/user/%.o: user/%.c $(USER_HDRS) $(SKELS) | $(OUTPUT)/asan/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(ASAN_CFLAGS) -c $< -o $@

$(OUTPUT)/mapwatch: $(USER_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ -o $@ $(LIBS_MW)

# The sanitized build of the whole tool, used by the end-to-end tests.
$(OUTPUT)/asan/mapwatch: $(ASAN_USER_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ASAN_CFLAGS) $^ -o $@ $(LIBS_MW)

# ---- Go programs: tests/go/* and target/gosvc, every toolchain --------------
include mk/go.mk

# ---- tests -----------------------------------------------------------------
# Named explicitly so make treats them as buildable and picks this rule over
# test_% below even before they exist.
$(ASAN_GOMAP_OBJS):

$(OUTPUT)/asan/tests/test_gomap%: tests/test_gomap%.c tests/check.h $(ASAN_GOMAP_OBJS) $(GOMAP_HDRS) | $(OUTPUT)/asan/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(ASAN_CFLAGS) -Itests $< $(ASAN_GOMAP_OBJS) -o $@ $(LIBS_XXH) -lpthread -lm

# The symbolizer needs libdw, so it stays out of PURE_SRCS and test_stacks
# links it on its own.
$(OUTPUT)/asan/tests/test_stacks: tests/test_stacks.c tests/check.h user/stacks.c user/stacks.h user/gobin.c user/gobin.h user/procmaps.c user/procmaps.h | $(OUTPUT)/asan/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(ASAN_CFLAGS) -Itests $< user/stacks.c user/gobin.c user/procmaps.c -o $@ $(LIBS_DW) -ldl

# The Go binary reader needs libelf only, so it too stays out of PURE_SRCS.
# Its fixtures are Go programs (tests/go/<name>/) built by every installed
# toolchain into build/go/<ver>/ (mk/go.mk); the test fails when there are none.
$(OUTPUT)/asan/tests/test_gobin: tests/test_gobin.c tests/check.h user/gobin.c user/gobin.h | $(OUTPUT)/asan/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(ASAN_CFLAGS) -Itests $< user/gobin.c -o $@ -lelf

# A debugging aid for the reader (not part of mapwatch): make build/gobin_dump
$(OUTPUT)/gobin_dump: tests/gobin_dump.c user/gobin.c user/gobin.h | $(OUTPUT)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< user/gobin.c -o $@ -lelf

# The Go probe-site finder decodes with capstone, so it also stays out of
# PURE_SRCS and test_gosites links it on its own, with the generated fixtures.
$(OUTPUT)/asan/tests/test_gosites: tests/test_gosites.c tests/gosites_fixtures.h tests/check.h user/gosites.c user/gosites.h | $(OUTPUT)/asan/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(ASAN_CFLAGS) -Itests $< user/gosites.c -o $@ $(LIBS_CS)

$(OUTPUT)/asan/tests/test_%: tests/test_%.c tests/check.h $(ASAN_PURE_OBJS) $(USER_HDRS) | $(OUTPUT)/asan/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(ASAN_CFLAGS) -Itests $< $(ASAN_PURE_OBJS) -o $@ $(LIBS_XXH) -lpthread -lm

$(OUTPUT)/progs/%: tests/progs/%.c $(OUTPUT)/libgomap.a $(GOMAP_HDRS) | $(OUTPUT)/progs
	$(call msg,PROG,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -O1 $< $(OUTPUT)/libgomap.a -o $@ $(LIBS_XXH) -lpthread -lm -ldl

# races against build/libgomap.so, then stripped: the stack tests' module-
# and-address-only frames (the probes still find libgomap.so's symbols).
$(OUTPUT)/races-stripped: tests/progs/races.c $(OUTPUT)/libgomap.so $(GOMAP_HDRS)
	$(call msg,PROG,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -O1 $< -L$(OUTPUT) -lgomap -Wl,-rpath,'$$ORIGIN' -o $@ $(LIBS_XXH) -lpthread -lm \
		&& strip $@

# forker against build/libgomap.so: forked children on a probed shared library.
$(OUTPUT)/forker-dyn: tests/progs/forker.c $(OUTPUT)/libgomap.so $(GOMAP_HDRS)
	$(call msg,PROG,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -O1 $< -L$(OUTPUT) -lgomap -Wl,-rpath,'$$ORIGIN' -o $@ $(LIBS_XXH) -lpthread -lm

# Static pattern: a plain fuzz_gomap% pattern cannot match fuzz_gomap itself (empty stem).
$(filter $(OUTPUT)/fuzz/fuzz_gomap%,$(FUZZ_BINS)): $(OUTPUT)/fuzz/%: tests/%.c $(GOMAP_SRCS) $(GOMAP_HDRS) | $(OUTPUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(CC) $(BASEFLAGS) -O1 -fsanitize=fuzzer,address,undefined $< $(GOMAP_SRCS) -o $@ $(LIBS_XXH) -lpthread -lm

$(OUTPUT)/fuzz/fuzz_%: tests/fuzz_%.c $(PURE_SRCS) $(USER_HDRS) | $(OUTPUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(CC) $(BASEFLAGS) -O1 -fsanitize=fuzzer,address,undefined $< $(PURE_SRCS) -o $@ $(LIBS_XXH) -lpthread -lm

test-build: all $(UNIT_BINS) $(PROG_BINS) $(OUTPUT)/races-stripped $(OUTPUT)/forker-dyn $(FUZZ_BINS) \
	    $(if $(USER_SRCS),$(OUTPUT)/asan/mapwatch) $(GO_BINS)

# The test command: installs what is missing, builds, runs every suite and
# ends with one line `N passed, N failed`; non-zero exit on any failure.
test: deps
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)bash tests/run.sh

# Fuzzing for time, apart from `make test`: scripts/fuzz.sh.
FUZZ_SECONDS ?= 60
fuzz: $(FUZZ_BINS)
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh run

fuzz-merge: $(FUZZ_BINS)
	$(Q)bash scripts/fuzz.sh merge

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash scripts/demo.sh

demo-go: deps
	$(Q)$(MAKE) --no-print-directory all go
	$(Q)bash scripts/demo-go.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash scripts/bench.sh

bench-load: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BENCH_ONLY=load bash scripts/bench.sh

install: $(OUTPUT)/mapwatch
	install -D -m 0755 $(OUTPUT)/mapwatch $(DESTDIR)$(PREFIX)/sbin/mapwatch
	install -D -m 0644 man/mapwatch.8 $(DESTDIR)$(PREFIX)/share/man/man8/mapwatch.8
	install -D -m 0644 dist/mapwatch.service $(DESTDIR)/lib/systemd/system/mapwatch.service

$(OUTPUT) $(OUTPUT)/obj/target $(OUTPUT)/pic/target $(OUTPUT)/asan/target $(OUTPUT)/obj/user \
$(OUTPUT)/asan/user $(OUTPUT)/asan/tests $(OUTPUT)/bpf $(OUTPUT)/progs $(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

clean:
	$(call msg,CLEAN)
	$(Q)rm -rf $(OUTPUT)

.DELETE_ON_ERROR:
.SECONDARY:
