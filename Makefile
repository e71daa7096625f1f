# hundun — build everything with `make`, test with `make test`, see it work with `make demo`.
#
#   make            library, tests, benchmarks, lessons and the hundun CLI (into build/)
#   make test       builds and runs every test binary; ends with "N passed, N failed"
#   make test SAN=1 the same with AddressSanitizer + UndefinedBehaviorSanitizer (into build-san/)
#   make demo       the main job: runs the lecture's demo and writes pictures to out/demo/
#   make bench      benchmarks (JSON lines), PyTorch twins in bench/torch/
#   make deps       installs the Debian packages hundun needs (run by every target that needs them)
#   make fuzz       libFuzzer harnesses (fuzz/) built with clang++ and ASan + UBSan into build-fuzz/, each run for
#                   FUZZ_SECONDS (default 60); fails if any found a crash, a leak, a hang or a huge allocation
#
# Sources are found by searching the folders, subfolders included: a new .cpp anywhere under tensor/ autograd/
# nn/ data/ report/ metrics/ train/ models/ joins the library (models/gan/*.cpp too), one under cli/ joins the
# hundun command, a new tests/test_*.cpp becomes a test binary, a new bench/*.cpp a benchmark.
#
# Builds run in parallel by themselves, one job per core (`make -j1` to override); each command's output is
# one short line per step (V=1 for the whole commands).

CXX ?= g++
SAN ?= 0

# One job per core unless the command line says otherwise (make -jN).
NPROC := $(shell nproc 2>/dev/null || echo 2)
ifeq ($(filter -j% --jobs%,$(MAKEFLAGS)),)
  MAKEFLAGS += -j$(NPROC)
endif

# Short lines ("  CXX tensor/gemm.cpp"), one per finished step, so parallel jobs stay readable; V=1 shows the
# whole commands.
ifeq ($(V),1)
  Q :=
  say = @true
else
  Q := @
  say = @printf '  %-5s %s\n' $(1) $(2)
endif

ifeq ($(SAN),1)
  BUILD := build-san
  OPT := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -Wno-maybe-uninitialized
else
  BUILD := build
  OPT := -O3 -g1
endif

CXXFLAGS := -std=c++20 $(OPT) -march=native -fno-math-errno -fopenmp -Wall -Wextra -Wno-restrict -I. -MMD -MP \
            -DHUNDUN_SOURCE_DIR='"$(CURDIR)"'
LDLIBS := -lfmt -lstb -lz -pthread
TEST_LDLIBS := -lgtest -lgtest_main

# Every .cpp below these folders, sorted so that the archive's order never depends on the file system.
sources_under = $(sort $(shell find $(1) -name '*.cpp' 2>/dev/null))
LIB_DIRS := tensor autograd nn data report metrics train models
LIB_SRCS := $(call sources_under,$(LIB_DIRS))
LIB_OBJS := $(LIB_SRCS:%.cpp=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libhundun.a

TEST_SRCS := $(wildcard tests/test_*.cpp)
TEST_BINS := $(TEST_SRCS:tests/%.cpp=$(BUILD)/tests/%)
# The GEMM tests once more against the plain C++ micro-kernel (forced by a build flag).
TEST_BINS += $(BUILD)/tests/test_gemm_generic

BENCH_SRCS := $(wildcard bench/*.cpp)
BENCH_BINS := $(BENCH_SRCS:bench/%.cpp=$(BUILD)/bench/%)

LESSON_DIRS := $(sort $(wildcard lessons/[0-9][0-9]_*))
LESSON_BINS := $(LESSON_DIRS:lessons/%=$(BUILD)/lessons/%)
# lessons/*.cpp: the helpers every lesson may use (lesson_models.cpp), linked into each lesson.
LESSON_COMMON_OBJS := $(patsubst %.cpp,$(BUILD)/obj/%.o,$(wildcard lessons/*.cpp))

CLI_SRCS := $(call sources_under,cli)
CLI_BIN := $(if $(CLI_SRCS),$(BUILD)/hundun)

.PHONY: all test demo bench lessons deps clean lesson-% fuzz fuzz-deps fuzz-corpus
.DEFAULT_GOAL := all

all: $(LIB) $(TEST_BINS) $(BENCH_BINS) $(LESSON_BINS) $(CLI_BIN)

deps:
	@scripts/deps.sh

# Objects live under build/obj/ mirroring the sources; binaries under build/tests, build/bench, build/lessons.
$(BUILD)/obj/%.o: %.cpp | deps
	@mkdir -p $(@D)
	$(call say,CXX,$<)
	$(Q)$(CXX) $(CXXFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(LIB)
	@mkdir -p $(@D)
	$(call say,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) $< $(LIB) $(TEST_LDLIBS) $(LDLIBS) -o $@

$(BUILD)/obj/generic/gemm.o: tensor/gemm.cpp | deps
	@mkdir -p $(@D)
	$(call say,CXX,$< '(plain C++ kernel)')
	$(Q)$(CXX) $(CXXFLAGS) -DHUNDUN_GEMM_GENERIC -c $< -o $@

$(BUILD)/tests/test_gemm_generic: $(BUILD)/obj/tests/test_gemm.o $(BUILD)/obj/generic/gemm.o $(LIB)
	$(call say,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) $^ $(TEST_LDLIBS) $(LDLIBS) -o $@

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIB)
	@mkdir -p $(@D)
	$(call say,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) $< $(LIB) $(LDLIBS) -ldl -o $@

# Keep object files of test binaries between runs (incremental builds).
.SECONDARY:

.SECONDEXPANSION:
lesson_objs = $(patsubst %.cpp,$(BUILD)/obj/%.o,$(wildcard lessons/$(1)/*.cpp))
$(LESSON_BINS): $(BUILD)/lessons/%: $$(call lesson_objs,$$*) $(LESSON_COMMON_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(call say,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) $(filter %.o,$^) $(LIB) $(LDLIBS) -o $@

ifneq ($(CLI_SRCS),)
$(CLI_BIN): $(CLI_SRCS:%.cpp=$(BUILD)/obj/%.o) $(LIB)
	$(call say,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) $^ $(LDLIBS) -o $@
endif

# Every test binary, then every lesson with --smoke; exit codes checked, one summary line at the end.
test: $(TEST_BINS) $(LESSON_BINS) $(CLI_BIN)
	@scripts/run_tests.sh $(BUILD) $(TEST_BINS) -- $(LESSON_BINS)

bench: $(BENCH_BINS)
	@for b in $(BENCH_BINS); do echo "# $$b"; $$b || exit 1; done
	@echo "# PyTorch twins: /usr/bin/python3 bench/torch/<name>.py"

lessons: $(LESSON_BINS)
	@for l in $(LESSON_BINS); do echo "# $$l"; $$l --out out/$$(basename $$l) || exit 1; done

# make lesson-04: builds and runs lessons/04_* with its default settings.
lesson-%:
	@dir=$$(ls -d lessons/$*_* 2>/dev/null | head -1); \
	  [ -n "$$dir" ] || { echo "no lesson lessons/$*_*"; exit 1; }; \
	  name=$$(basename $$dir); \
	  $(MAKE) --no-print-directory $(BUILD)/lessons/$$name && $(BUILD)/lessons/$$name --out out/$$name

demo: $(LESSON_BINS)
	@scripts/demo.sh $(BUILD)

# make weights: trains the shipped weights/*.safetensors with fixed seeds (about 40 minutes on 2 cores) and
# writes weights/README.md with each file's command, seed, training time and metrics. WEIGHTS="gan cgan": only
# those; JOBS=2: two trainings at once, one thread each.
.PHONY: weights
weights: $(BUILD)/hundun
	@JOBS=$(or $(JOBS),1) scripts/make_weights.sh $(BUILD)/hundun $(WEIGHTS)

# ---------------------------------------------------------------------------------------------------- fuzzing
# make fuzz: one libFuzzer harness per reader (fuzz/fuzz_<target>.cpp, see fuzz/README.md), compiled with Debian's
# clang++ like SAN=1 compiles with g++: the library's sources again, instrumented, into build-fuzz/ (never mixed with
# g++'s objects). stb_image is compiled from its header into the harnesses (fuzz/stb_image_impl.cpp), instrumented
# too, instead of linking libstb. Each harness then runs for FUZZ_SECONDS from the committed seeds in
# fuzz/corpus/<target>/, writing what it learns to build-fuzz/corpus/<target>/ (scripts/fuzz.sh).
FUZZ_CXX ?= clang++
FUZZ_BUILD := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CXXFLAGS := -std=c++20 -O1 -g -march=native -fno-math-errno -fopenmp -fno-omit-frame-pointer $(FUZZ_SAN) \
                 -Wall -Wextra -Wno-overloaded-virtual -Wno-pass-failed -I. -MMD -MP -DHUNDUN_SOURCE_DIR='"$(CURDIR)"'
FUZZ_LDLIBS := -lfmt -lz -pthread
FUZZ_TARGETS := $(patsubst fuzz/fuzz_%.cpp,%,$(wildcard fuzz/fuzz_*.cpp))
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_LIB := $(FUZZ_BUILD)/libhundun.a
# The command's sources but its main(): the harnesses need the registered families and commands (linked as objects,
# not from an archive, so that their registrations are kept).
FUZZ_CLI_OBJS := $(patsubst %.cpp,$(FUZZ_BUILD)/obj/%.o,$(filter-out cli/main.cpp,$(CLI_SRCS)))
FUZZ_STB_OBJ := $(FUZZ_BUILD)/obj/fuzz/stb_image_impl.o

# stb's two known kinds of undefined arithmetic (fuzz/ubsan_suppressions.txt says which and why) may only be
# suppressed when their checks recover; nothing else does.
$(FUZZ_STB_OBJ): FUZZ_CXXFLAGS += -fsanitize-recover=shift-exponent,signed-integer-overflow

fuzz-deps:
	@scripts/deps.sh fuzz

# The library and the command with the fuzzer's coverage (fuzzer-no-link), the harnesses linked with its main.
$(FUZZ_BUILD)/obj/%.o: %.cpp | fuzz-deps
	@mkdir -p $(@D)
	$(call say,CLANG,$<)
	$(Q)$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(LIB_SRCS:%.cpp=$(FUZZ_BUILD)/obj/%.o)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/fuzz/fuzz_%.o $(FUZZ_CLI_OBJS) $(FUZZ_STB_OBJ) $(FUZZ_LIB)
	$(call say,LINK,$@)
	$(Q)$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer $^ $(FUZZ_LDLIBS) -o $@

fuzz: $(FUZZ_BINS)
	@scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# make fuzz-corpus: writes the committed seeds fuzz/corpus/<target>/ again with hundun's own writers.
$(FUZZ_BUILD)/make_corpus: $(FUZZ_BUILD)/obj/fuzz/make_corpus.o $(FUZZ_STB_OBJ) $(FUZZ_LIB)
	$(call say,LINK,$@)
	$(Q)$(FUZZ_CXX) $(FUZZ_CXXFLAGS) $^ $(FUZZ_LDLIBS) -o $@

fuzz-corpus: $(FUZZ_BUILD)/make_corpus
	@rm -rf fuzz/corpus
	@OMP_NUM_THREADS=1 $(FUZZ_BUILD)/make_corpus fuzz/corpus

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
ifneq ($(filter fuzz fuzz-corpus $(FUZZ_BUILD)/%,$(MAKECMDGOALS)),)
-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
endif
