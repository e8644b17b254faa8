// The adapters' state store's contract, on SQLite and PostgreSQL alike: a value written is read
// back as written (and by another instance), a later write replaces it, a key never written
// has no value.
#include <catch2/catch.hpp>

#include "store_kinds.hpp"

TEMPLATE_TEST_CASE("state: a value is read back as written, replaced by a later write, and absent until written",
                   "[store][contract][state]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& state = kind.state();
    CHECK_FALSE(kind.await(state.state("matrix:since")).has_value());
    kind.await(state.set_state("matrix:since", "s72594_4483_1934"));
    CHECK(kind.await(state.state("matrix:since")) == std::optional<std::string>("s72594_4483_1934"));
    kind.await(state.set_state("matrix:since", "s72595_4484_1935"));
    CHECK(kind.await(state.state("matrix:since")) == std::optional<std::string>("s72595_4484_1935"));

    const std::string awkward = "it's \"quoted\"\n🚀 $1 ?";
    kind.await(state.set_state("matrix:told-encrypted:!room:example.org", awkward));
    kind.await(state.set_state("empty", ""));
    auto other = kind.another();  // another instance on the same database
    CHECK(kind.await(other->state().state("matrix:told-encrypted:!room:example.org")) == std::optional<std::string>(awkward));
    CHECK(kind.await(other->state().state("empty")) == std::optional<std::string>(""));
    CHECK(kind.await(other->state().state("matrix:since")) == std::optional<std::string>("s72595_4484_1935"));
    CHECK_FALSE(kind.await(other->state().state("Matrix:since")).has_value());  // keys are exact
}
