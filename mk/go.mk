# mk/go.mk — real Go programs for mapwatch's tests, built with every toolchain
# (included from the top Makefile; `make go` builds just these).
#
# Every directory tests/go/NAME/ holding a main package is built, for each
# version V in GO_VERSIONS, into
#   build/go/V/NAME           plain
#   build/go/V/NAME-stripped  -ldflags='-s -w' (no .symtab, no DWARF)
#   build/go/V/NAME-pie       -buildmode=pie
# and with Go 1.24's classic maps (GOEXPERIMENT=noswissmap) into
#   build/go/1.24-noswiss/NAME
# The demo service target/gosvc goes to build/go/V/gosvc and
# build/go/1.24-noswiss/gosvc, and build/gosvc is the newest classic-map
# build (GO_SVC_VERSION).
#
# Builds run in GOPATH mode, offline, with no cgo and nothing taken from the
# caller's Go environment; GOPATH and the build cache live under build/.
# Version-specific code is chosen by build tags (//go:build go1.21, ...).
# A missing toolchain makes `bash scripts/deps.sh` run once (root needed).

GO_VERSIONS := 1.19 1.21 1.22 1.23 1.24
GO_1_19 := /usr/lib/go-1.19/bin/go
GO_1_21 := /usr/lib/go-1.21/bin/go
GO_1_22 := /usr/lib/go-1.22/bin/go
GO_1_23 := /usr/lib/go-1.23/bin/go
GO_1_24 := $(OUTPUT)/go-1.24/usr/lib/go-1.24/bin/go
# Go 1.24 with the classic (pre-Swiss) map.
GO_NOSWISS := 1.24-noswiss
GO_SVC_VERSION := 1.23

GO_ENV := env -u GOROOT -u GOOS -u GOARCH -u GOAMD64 \
	GO111MODULE=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0 \
	GOENV=off GOPATH=$(abspath $(OUTPUT))/gopath GOCACHE=$(abspath $(OUTPUT))/gocache

# tests/go/NAME/ directories with a main package.
GO_PROGS := $(sort $(patsubst tests/go/%/,%,$(dir $(shell grep -l '^package main' tests/go/*/*.go 2>/dev/null))))
GO_SRCS = $(filter-out %_test.go,$(wildcard $(1)/*.go))

# The toolchain binary of version $(1) (1.24-noswiss → 1.24), or go-deps
# when it is not there yet.
go_tool_path = $(GO_$(subst .,_,$(firstword $(subst -, ,$(1)))))
go_tool = $(or $(wildcard $(call go_tool_path,$(1))),go-deps)

.PHONY: go go-deps
go-deps:
	$(Q)GO124_DIR=$(OUTPUT)/go-1.24 bash scripts/deps.sh

# go_build(OUTDIR, PROG_DIR, OUT, EXPERIMENT, FLAGS...); the touch keeps make
# incremental should go build find the output up to date and leave it alone.
define go_build
$(OUTPUT)/go/$(1)/$(3): $(call GO_SRCS,$(2)) $(call go_tool,$(1)) | $(OUTPUT)/go/$(1)
	$$(call msg,GO,$$@)
	$$(Q)$$(GO_ENV) GOEXPERIMENT=$(4) $(call go_tool_path,$(1)) build $(5) -o $$@ ./$(2) && touch $$@
endef

# Every variant of program $(2) (in directory $(3)) for version $(1). The
# stripped link reuses the plain build's compiled packages, so it waits for it.
define go_prog
$(eval $(call go_build,$(1),$(3),$(2),,))
$(eval $(call go_build,$(1),$(3),$(2)-stripped,,-ldflags='-s -w'))
$(eval $(call go_build,$(1),$(3),$(2)-pie,,-buildmode=pie))
$(OUTPUT)/go/$(1)/$(2)-stripped: | $(OUTPUT)/go/$(1)/$(2)
GO_BINS += $(OUTPUT)/go/$(1)/$(2) $(OUTPUT)/go/$(1)/$(2)-stripped $(OUTPUT)/go/$(1)/$(2)-pie
endef

GO_BINS :=
$(foreach v,$(GO_VERSIONS),$(foreach p,$(GO_PROGS),$(eval $(call go_prog,$(v),$(p),tests/go/$(p)))))
$(foreach v,$(GO_VERSIONS),$(eval $(call go_build,$(v),target/gosvc,gosvc,,)))
$(foreach p,$(GO_PROGS),$(eval $(call go_build,$(GO_NOSWISS),tests/go/$(p),$(p),noswissmap,)))
$(eval $(call go_build,$(GO_NOSWISS),target/gosvc,gosvc,noswissmap,))
# gosvc shares most of its compiled standard library with the first program's
# plain build: waiting for it (order only) compiles it once, not twice at once.
$(if $(GO_PROGS),$(foreach v,$(GO_VERSIONS) $(GO_NOSWISS),$(eval $(OUTPUT)/go/$(v)/gosvc: | $(OUTPUT)/go/$(v)/$(firstword $(GO_PROGS)))))
GO_BINS += $(foreach v,$(GO_VERSIONS) $(GO_NOSWISS),$(OUTPUT)/go/$(v)/gosvc) \
	   $(foreach p,$(GO_PROGS),$(OUTPUT)/go/$(GO_NOSWISS)/$(p)) \
	   $(OUTPUT)/gosvc

$(OUTPUT)/gosvc: $(OUTPUT)/go/$(GO_SVC_VERSION)/gosvc
	$(call msg,CP,$@)
	$(Q)cp $< $@

$(addprefix $(OUTPUT)/go/,$(GO_VERSIONS) $(GO_NOSWISS)):
	$(Q)mkdir -p $@

go: $(GO_BINS)
