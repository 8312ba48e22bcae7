# Compile flags of the fuzzing build (GATE_FUZZ=ON): every gate library is
# instrumented for libFuzzer's coverage and for ASan and UBSan, so that a fuzz
# input that reads out of bounds or hits undefined behaviour is a crash.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR CMAKE_CXX_COMPILER_VERSION VERSION_LESS 16)
  message(FATAL_ERROR "GATE_FUZZ needs clang >= 16 (libFuzzer; conditionally trivial "
                      "special members for <expected>): configure with -DCMAKE_CXX_COMPILER=clang++-16")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                    -fno-omit-frame-pointer)
add_link_options(-fsanitize=address,undefined)
# libstdc++ 12 offers <expected> only when __cpp_concepts >= 202002L; clang 16
# implements what it needs (P0848) but still reports 201907L.
if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 19)
  add_compile_options(-U__cpp_concepts -D__cpp_concepts=202002L)
endif()
