# Compiler cache, warnings and sanitizers shared by every target of this project.

find_program(TXOVA_CCACHE ccache)
if(TXOVA_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  # pch_defines/time_macros let ccache reuse objects built with precompiled headers.
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      ${TXOVA_CCACHE})
endif()

add_library(txova_kafka_warnings INTERFACE)
# GCC 12 warns (-Wmissing-field-initializers, in -Wextra) on designated initializers that leave
# out a member without a default member initializer; every member of the library's public
# structs has one ({}), so users' -Wall -Wextra builds stay quiet, and so do ours.
target_compile_options(txova_kafka_warnings INTERFACE -Wall -Wextra -Wpedantic
  $<$<BOOL:${TXOVA_KAFKA_WARNINGS_AS_ERRORS}>:-Werror>)

add_library(txova_kafka_sanitizers INTERFACE)
if(TXOVA_KAFKA_SANITIZE)
  set(txova_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    list(APPEND txova_san -fno-sanitize=function)  # clang 14 and coroutines: see TXOVA_KAFKA_FUZZ below
  endif()
  # Bounds-checked operator[] and the like in libstdc++: out-of-range reads abort, not pass.
  target_compile_options(txova_kafka_sanitizers INTERFACE ${txova_san} -D_GLIBCXX_ASSERTIONS)
  target_link_options(txova_kafka_sanitizers INTERFACE ${txova_san})
endif()
if(TXOVA_KAFKA_TSAN)
  if(TXOVA_KAFKA_SANITIZE)
    message(FATAL_ERROR "TXOVA_KAFKA_TSAN and TXOVA_KAFKA_SANITIZE cannot be combined")
  endif()
  # -Wno-tsan: Asio uses atomic_thread_fence, which ThreadSanitizer does not model (GCC warns).
  target_compile_options(txova_kafka_sanitizers INTERFACE -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
  target_link_options(txova_kafka_sanitizers INTERFACE -fsanitize=thread)
  # librdkafka's C11 threads and locks through the pthread calls TSan intercepts (the file says why).
  target_sources(txova_kafka_sanitizers INTERFACE ${PROJECT_SOURCE_DIR}/tests/tsan_c11_threads.cpp)
endif()
if(TXOVA_KAFKA_COVERAGE)
  # -fprofile-update=atomic: librdkafka's threads run our callbacks, counters must not tear.
  target_compile_options(txova_kafka_sanitizers INTERFACE --coverage -fprofile-update=atomic -O0)
  target_link_options(txova_kafka_sanitizers INTERFACE --coverage)
endif()

# Build-only helpers: used with $<BUILD_INTERFACE:...> so they never leak into the installed package.
function(txova_project_options target)
  target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:txova_kafka_warnings>
                                          $<BUILD_INTERFACE:txova_kafka_sanitizers>)
endfunction()

# With fuzzing on, every target is instrumented for coverage so libFuzzer sees the library too.
# -fno-sanitize=function: clang 14's function-type check cannot place its prologue data on the
# split parts of some coroutines ("Cannot represent a difference across sections", seen on
# src/producer_middleware.cpp); the rest of UBSan stays on.
if(TXOVA_KAFKA_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    add_compile_options(-fno-sanitize=function)
  endif()
  add_link_options(-fsanitize=address,undefined)
endif()
