// Preloaded with libfaketime for the suite's run with the clock a year ahead.
// libfaketime 0.9.10 shifts every TFD_TIMER_ABSTIME deadline by its offset, even with
// FAKETIME_DONT_FAKE_MONOTONIC. Asio arms its timerfd with the absolute deadline
// {0 s, 1 ns} to mean "due now"; shifted, that is negative, the kernel refuses it
// (EINVAL) and a due timer never fires. Sent as the relative 1 ns it stands for, it is
// left alone. Every other call passes through unchanged.
#include <dlfcn.h>
#include <sys/timerfd.h>

extern "C" int timerfd_settime(int fd, int flags, const itimerspec* value, itimerspec* old) {
    using Settime = int (*)(int, int, const itimerspec*, itimerspec*);
    static const auto next = reinterpret_cast<Settime>(dlsym(RTLD_NEXT, "timerfd_settime"));
    const bool due_now = (flags & TFD_TIMER_ABSTIME) != 0 && value != nullptr && value->it_value.tv_sec == 0 &&
                         value->it_value.tv_nsec <= 1;
    return next(fd, due_now ? (flags & ~TFD_TIMER_ABSTIME) : flags, value, old);
}
