# The CUDA part of the op library (included from CMakeLists.txt when DETEXP_CUDA=ON).
#
# Arch list: -DDETEXP_CUDA_ARCHS or env DETEXP_CUDA_ARCHS, e.g. "80;90" (plain numbers: SASS for
# each, plus PTX for the last so newer GPUs JIT it) or CMake syntax ("90-real;90-virtual").
# Default: 75;80;86;89;90 + PTX 90 with nvcc >= 13 (which dropped sm_70); 70 is added for nvcc 12.
#
# CUDA runtime (DETEXP_CUDA_RUNTIME):
#   tf      (default) link no cudart: the runtime symbols (cudaLaunchKernel, __cudaRegisterFatBinary,
#           ...) resolve to the CUDA 12.5 runtime that libtensorflow_framework.so.2 exports, so TF
#           and detexp share one runtime, and the library loads on machines without CUDA.
#   static  cudart_static of the nvcc used to build (CUDA 13 here: needs driver R580 or newer).
set(DETEXP_CUDA_ARCHS "$ENV{DETEXP_CUDA_ARCHS}" CACHE STRING "CUDA archs (see cmake/DetexpCuda.cmake)")
set(DETEXP_CUDA_RUNTIME "tf" CACHE STRING "CUDA runtime: tf (TF's exported cudart) or static")
set_property(CACHE DETEXP_CUDA_RUNTIME PROPERTY STRINGS tf static)

if(NOT CMAKE_CUDA_COMPILER)
  find_program(_detexp_nvcc nvcc PATHS /usr/local/cuda/bin ENV CUDA_HOME PATH_SUFFIXES bin)
  if(_detexp_nvcc)
    set(CMAKE_CUDA_COMPILER ${_detexp_nvcc})
  endif()
endif()
# Placeholder so enable_language accepts it; the real list is set on the target below.
if(NOT CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 90)
endif()
enable_language(CUDA)
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)

if(DETEXP_CUDA_ARCHS STREQUAL "")
  if(CMAKE_CUDA_COMPILER_VERSION VERSION_LESS 13)
    set(DETEXP_CUDA_ARCHS "70;75;80;86;89;90")
  else()
    set(DETEXP_CUDA_ARCHS "75;80;86;89;90")
  endif()
endif()
if(DETEXP_CUDA_ARCHS MATCHES "-")
  set(_detexp_archs ${DETEXP_CUDA_ARCHS})
else()
  set(_detexp_archs "")
  foreach(a IN LISTS DETEXP_CUDA_ARCHS)
    list(APPEND _detexp_archs "${a}-real")
  endforeach()
  list(GET DETEXP_CUDA_ARCHS -1 _detexp_last)
  list(APPEND _detexp_archs "${_detexp_last}-virtual")
endif()
message(STATUS "detexp CUDA ${CMAKE_CUDA_COMPILER_VERSION}: archs ${_detexp_archs}, runtime ${DETEXP_CUDA_RUNTIME}")

# Only the headers these sources need (cusolverDn.h, cusolver_common.h, cublas_v2.h, cublas_api.h,
# CUDA 12.5, copied from TF's wheel); the rest comes from the CUDA toolkit of nvcc.
set(DETEXP_CUDA_HEADERS ${CMAKE_CURRENT_SOURCE_DIR}/third_party/cuda_headers)

# Kernels and launchers: no TF headers. A static library of position-independent objects.
add_library(detexp_cuda STATIC cuda/slogdet_kernels.cu cuda/expm_kernels.cu cuda/expm_blas.cu
            cuda/matmul_kernels.cu cuda/solver_loader.cc)
set_target_properties(detexp_cuda PROPERTIES CUDA_ARCHITECTURES "${_detexp_archs}"
                      POSITION_INDEPENDENT_CODE ON CXX_VISIBILITY_PRESET hidden CUDA_VISIBILITY_PRESET hidden)
target_include_directories(detexp_cuda PUBLIC ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CUDA_TOOLKIT_INCLUDE_DIRECTORIES}
                           ${DETEXP_CUDA_HEADERS})
target_compile_options(detexp_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -O3 -Xcompiler=-fPIC --diag-suppress=177>
  $<$<COMPILE_LANGUAGE:CXX>:-O2 -Wall>)
target_link_libraries(detexp_cuda PUBLIC ${CMAKE_DL_LIBS})
if(DETEXP_CUDA_RUNTIME STREQUAL "static")
  set_target_properties(detexp_cuda PROPERTIES CUDA_RUNTIME_LIBRARY Static)
else()
  set_target_properties(detexp_cuda PROPERTIES CUDA_RUNTIME_LIBRARY None)
endif()

# The TF GPU glue: host compiler, TF headers, GOOGLE_CUDA=1.
file(GLOB DETEXP_GPU_GLUE CONFIGURE_DEPENDS cc/kernels/*_gpu.cc)
target_sources(_detexp_ops PRIVATE ${DETEXP_GPU_GLUE})
target_compile_definitions(_detexp_ops PRIVATE GOOGLE_CUDA=1 DETEXP_CUDA=1)
target_link_libraries(_detexp_ops PRIVATE detexp_cuda)
if(DETEXP_CUDA_RUNTIME STREQUAL "static")
  find_package(CUDAToolkit REQUIRED)
  target_link_libraries(_detexp_ops PRIVATE CUDA::cudart_static)
  set_target_properties(_detexp_ops PROPERTIES CUDA_RUNTIME_LIBRARY Static)
endif()
# The glue calls cudaLaunchKernel etc. only through detexp_cuda; those resolve against
# libtensorflow_framework.so.2 (already linked) in the default "tf" runtime mode.

# A standalone test of the launchers without TF (run it first on a GPU machine, under
# compute-sanitizer); links the toolkit's cudart since there is no TF to provide it.
option(DETEXP_CUDA_TESTS "Build cuda/tests (standalone kernel test binary)" ON)
if(DETEXP_CUDA_TESTS)
  add_executable(detexp_cuda_test cuda/tests/slogdet_kernels_test.cc)
  find_package(CUDAToolkit REQUIRED)
  target_link_libraries(detexp_cuda_test PRIVATE detexp_cuda CUDA::cudart ${CMAKE_DL_LIBS})
  set_target_properties(detexp_cuda_test PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
  add_executable(detexp_cuda_expm_test cuda/tests/expm_kernels_test.cc)
  target_link_libraries(detexp_cuda_expm_test PRIVATE detexp_cuda CUDA::cudart ${CMAKE_DL_LIBS})
  set_target_properties(detexp_cuda_expm_test PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
endif()
