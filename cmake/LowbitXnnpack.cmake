# XNNPACK (Debian libxnnpack-dev, with libpthreadpool-dev) is a yardstick and an oracle: bench/ and
# tests/ only, never the library. Debian ships no CMake package for it, so look for the header and
# the libraries directly; when any is missing, lowbit_xnnpack is not defined and its users are left out.
find_path(XNNPACK_INCLUDE_DIR xnnpack.h)
find_library(XNNPACK_LIB XNNPACK)
find_library(PTHREADPOOL_LIB pthreadpool)
if(XNNPACK_INCLUDE_DIR AND XNNPACK_LIB AND PTHREADPOOL_LIB AND NOT TARGET lowbit_xnnpack)
  add_library(lowbit_xnnpack INTERFACE IMPORTED)
  target_include_directories(lowbit_xnnpack SYSTEM INTERFACE ${XNNPACK_INCLUDE_DIR})
  target_link_libraries(lowbit_xnnpack INTERFACE ${XNNPACK_LIB} ${PTHREADPOOL_LIB})
endif()
