# Fetches the Debian packages whose files lowbit's data tests and demo read, without installing
# them: `apt-get download` + `dpkg -x` into DATA_DIR/root. Idempotent (a stamp per package).
#   cmake [-DDATA_DIR=<dir>] -P cmake/fetch_data.cmake       (default DATA_DIR: build/data)
# Needs a current apt package index (apt-get update).
#   libonnx-testdata: ONNX's operator test vectors  -> root/usr/share/libonnx-testdata/data/node/
#   gnubg:            trained float32 network weights -> root/usr/lib/gnubg/gnubg.wd
#   python3-sklearn:  two photos (china.jpg, flower.jpg) -> root/usr/lib/python3/dist-packages/sklearn/datasets/images/
cmake_minimum_required(VERSION 3.25)
if(NOT DATA_DIR)
  get_filename_component(DATA_DIR "${CMAKE_CURRENT_LIST_DIR}/../build/data" ABSOLUTE)
endif()
foreach(pkg libonnx-testdata gnubg python3-sklearn)
  set(stamp "${DATA_DIR}/stamps/${pkg}")
  if(EXISTS "${stamp}")
    continue()
  endif()
  set(debs "${DATA_DIR}/debs/${pkg}")
  file(REMOVE_RECURSE "${debs}")
  file(MAKE_DIRECTORY "${debs}")
  execute_process(COMMAND apt-get download ${pkg} WORKING_DIRECTORY "${debs}" RESULT_VARIABLE rc)
  file(GLOB deb "${debs}/*.deb")
  if(rc OR NOT deb)
    message(FATAL_ERROR "apt-get download ${pkg} failed (exit ${rc}); run apt-get update first")
  endif()
  execute_process(COMMAND dpkg -x ${deb} "${DATA_DIR}/root" RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "dpkg -x ${deb} failed (exit ${rc})")
  endif()
  file(MAKE_DIRECTORY "${DATA_DIR}/stamps")
  file(TOUCH "${stamp}")
  message(STATUS "lowbit data: ${pkg} -> ${DATA_DIR}/root")
endforeach()
