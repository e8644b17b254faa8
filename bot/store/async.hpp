#pragma once
// What store calls return: an awaitable the loop resumes once the answer is in. SQLite
// answers at once; PostgreSQL while the loop goes on with other work (docs/design.md). The
// interfaces move to it one at a time.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <boost/asio/awaitable.hpp>

namespace platbot::store {

template <class T>
using Async = boost::asio::awaitable<T>;

}  // namespace platbot::store
