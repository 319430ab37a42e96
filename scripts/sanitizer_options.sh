# Sourced by sanitize.sh and fuzz.sh --tests: any sanitizer report fails the run.
# LeakSanitizer is part of ASan on Linux; detect_leaks=1 makes the choice explicit (a leak fails the test).
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
