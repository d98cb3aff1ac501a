# Installs the build tree into a scratch prefix, then configures, builds and runs a downstream
# project that finds it with find_package(txova_kafka).
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} not set")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# The README's example, exactly as written: the C++ block after the readme-example marker.
file(READ ${SOURCE_DIR}/README.md readme)
string(FIND "${readme}" "<!-- readme-example -->" at)
if(at EQUAL -1)
  message(FATAL_ERROR "README.md has no <!-- readme-example --> marker")
endif()
string(SUBSTRING "${readme}" ${at} -1 rest)
string(FIND "${rest}" "```cpp\n" open)
math(EXPR open "${open} + 7")
string(SUBSTRING "${rest}" ${open} -1 rest)
string(FIND "${rest}" "\n```" close)
string(SUBSTRING "${rest}" 0 ${close} example)
file(WRITE ${WORK_DIR}/readme_example.cpp "${example}\n")
# Built as a user builds: -Wall -Wextra -Werror, and the sanitizers when the tree has them.
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install/consumer -B ${WORK_DIR}/build -G Ninja
    -DCMAKE_PREFIX_PATH=${prefix} "-DCMAKE_CXX_FLAGS=-Wall -Wextra -Werror ${EXTRA_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${EXTRA_FLAGS}" -DREADME_EXAMPLE=${WORK_DIR}/readme_example.cpp)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/downstream)
execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=KAFKA_BROKERS ${WORK_DIR}/build/readme_example RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the README example failed (${rc})")
endif()
