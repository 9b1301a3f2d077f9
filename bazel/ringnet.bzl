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

def ringnet_cc_test(name, copts = [], deps = [], **kwargs):
    """A GoogleTest test linked with gtest_main."""
    native.cc_test(
        name = name,
        copts = RINGNET_TEST_COPTS + copts,
        deps = deps + ["@com_google_googletest//:gtest_main"],
        **kwargs
    )

def ringnet_cc_binary(name, copts = [], **kwargs):
    """A ringnet program (example, bench or test helper)."""
    native.cc_binary(
        name = name,
        copts = RINGNET_TEST_COPTS + copts,
        **kwargs
    )
