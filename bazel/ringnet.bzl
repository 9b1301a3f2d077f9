"""Shared compiler options and thin rule wrappers for ringnet's own targets.

Every ringnet library exposes its headers under the `ringnet/` prefix
(`#include "ringnet/runtime/event_loop.h"`), inside ringnet as in a consumer's workspace, so a
consumer's own `net/` or `codec/` never collides with ours.
"""

# Project code builds warning-clean; system headers (absl, liburing) are exempt as -isystem.
RINGNET_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-missing-field-initializers",
]

# Tests and benches: googletest's macros trip -Wextra's sign-compare in EXPECT_EQ on mixed types.
RINGNET_TEST_COPTS = RINGNET_COPTS + ["-Wno-sign-compare"]

def ringnet_cc_library(name, copts = [], **kwargs):
    """A ringnet library: project copts and the `ringnet/` include prefix."""
    native.cc_library(
        name = name,
        copts = RINGNET_COPTS + copts,
        include_prefix = "ringnet/" + native.package_name(),
        **kwargs
    )

# The backends a test marked `all_backends = True` also runs under (RINGNET_BACKEND values):
# epoll, and io_uring as a 5.19 kernel has it (single-shot receives, COOP_TASKRUN).
RINGNET_EXTRA_BACKENDS = ["epoll", "io_uring_compat"]

def ringnet_cc_test(name, copts = [], deps = [], all_backends = False, **kwargs):
    """A GoogleTest test linked with gtest_main.

    With all_backends, the same test also runs as `<name>_epoll` and `<name>_io_uring_compat`,
    its event loops forced onto those backends through RINGNET_BACKEND.
    """
    native.cc_test(
        name = name,
        copts = RINGNET_TEST_COPTS + copts,
        deps = deps + ["@com_google_googletest//:gtest_main"],
        **kwargs
    )
    if not all_backends:
        return
    for backend in RINGNET_EXTRA_BACKENDS:
        native.cc_test(
            name = name + "_" + backend,
            copts = RINGNET_TEST_COPTS + copts,
            deps = deps + ["@com_google_googletest//:gtest_main"],
            env = {"RINGNET_BACKEND": backend},
            **kwargs
        )

def ringnet_cc_binary(name, copts = [], **kwargs):
    """A ringnet program (example, bench or test helper)."""
    native.cc_binary(
        name = name,
        copts = RINGNET_TEST_COPTS + copts,
        **kwargs
    )
