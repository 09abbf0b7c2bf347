# The CUDA part of the op library (included from CMakeLists.txt when DETEXP_CUDA=ON).
#
# nvcc: cmake/DetexpCudaToolchain.cmake (explicit CMAKE_CUDA_COMPILER / CUDACXX, else the pip
# toolchain of requirements-cuda.txt, else a system CUDA).
#
# Arch list: -DDETEXP_CUDA_ARCHS or env DETEXP_CUDA_ARCHS, e.g. "80;90" (plain numbers: SASS for
# each, plus PTX for the last so newer GPUs JIT it) or CMake syntax ("90-real;90-virtual").
# Default: every arch of TF 2.21's support range the compiler still targets, Volta to Blackwell:
#   nvcc 13.x          75;80;86;89;90;100;120   (CUDA 13 dropped sm_70)
#   nvcc 12.8 .. 12.9  70;75;80;86;89;90;100;120
#   nvcc 12.0 .. 12.7  70;75;80;86;89;90
# SASS for sm_100 also runs on sm_103, sm_120 on sm_121; PTX of the last arch covers later GPUs.
#
# CUDA runtime (DETEXP_CUDA_RUNTIME):
#   tf      link no cudart: the runtime symbols (cudaLaunchKernel, __cudaRegisterFatBinary, ...)
#           resolve to the CUDA 12.5 runtime that libtensorflow_framework.so.2 exports, so TF and
#           detexp share one runtime and the library loads on machines without CUDA. Default for
#           nvcc 12.x: one major version, so NVIDIA's minor-version compatibility covers it.
#   static  link the compiler's cudart_static into the library, its symbols hidden
#           (--exclude-libs), so kernels built by nvcc 13 run on the CUDA 13 runtime they were
#           built for (TF's 12.5 runtime loading CUDA 13 code is outside NVIDIA's support
#           statement) and no other library's runtime can capture them. Default for nvcc >= 13.
#           cudart_static opens libcuda.so.1 only on first use: the library still loads without a GPU.
set(DETEXP_CUDA_ARCHS "$ENV{DETEXP_CUDA_ARCHS}" CACHE STRING "CUDA archs (see cmake/DetexpCuda.cmake)")
set(DETEXP_CUDA_RUNTIME "$ENV{DETEXP_CUDA_RUNTIME}" CACHE STRING "CUDA runtime: tf or static (default by nvcc version)")
set_property(CACHE DETEXP_CUDA_RUNTIME PROPERTY STRINGS tf static)

include(${CMAKE_CURRENT_LIST_DIR}/DetexpCudaToolchain.cmake)
# Placeholder so enable_language accepts it; the real list is set on the target below.
if(NOT CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 90)
endif()
enable_language(CUDA)
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
if(CMAKE_CUDA_COMPILER_VERSION VERSION_LESS 12.0)
  message(FATAL_ERROR "detexp needs nvcc >= 12.0 (TensorFlow 2.21 runs CUDA 12.5); found ${CMAKE_CUDA_COMPILER_VERSION}")
endif()

if(DETEXP_CUDA_ARCHS STREQUAL "")
  if(CMAKE_CUDA_COMPILER_VERSION VERSION_GREATER_EQUAL 13.0)
    set(DETEXP_CUDA_ARCHS "75;80;86;89;90;100;120")
  elseif(CMAKE_CUDA_COMPILER_VERSION VERSION_GREATER_EQUAL 12.8)
    set(DETEXP_CUDA_ARCHS "70;75;80;86;89;90;100;120")
  else()
    set(DETEXP_CUDA_ARCHS "70;75;80;86;89;90")
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
if(DETEXP_CUDA_RUNTIME STREQUAL "")
  if(CMAKE_CUDA_COMPILER_VERSION VERSION_GREATER_EQUAL 13.0)
    set(_detexp_runtime static)
  else()
    set(_detexp_runtime tf)
  endif()
else()
  set(_detexp_runtime ${DETEXP_CUDA_RUNTIME})
endif()
if(NOT _detexp_runtime MATCHES "^(tf|static)$")
  message(FATAL_ERROR "DETEXP_CUDA_RUNTIME must be tf or static, not '${_detexp_runtime}'")
endif()
message(STATUS "detexp CUDA ${CMAKE_CUDA_COMPILER_VERSION} from ${DETEXP_CUDA_TOOLCHAIN}: archs ${_detexp_archs}, runtime ${_detexp_runtime}")

# Only the headers these sources need (cusolverDn.h, cusolver_common.h, cublas_v2.h, cublas_api.h,
# CUDA 12.5, copied from TF's wheel); the rest comes from the CUDA toolkit of nvcc.
set(DETEXP_CUDA_HEADERS ${CMAKE_CURRENT_SOURCE_DIR}/third_party/cuda_headers)

# Kernels and launchers: no TF headers. A static library of position-independent objects.
add_library(detexp_cuda STATIC cuda/slogdet_kernels.cu cuda/expm_kernels.cu cuda/expm_blas.cu
            cuda/expm_multiply_kernels.cu cuda/matmul_kernels.cu cuda/solver_loader.cc)
set_target_properties(detexp_cuda PROPERTIES CUDA_ARCHITECTURES "${_detexp_archs}"
                      POSITION_INDEPENDENT_CODE ON CXX_VISIBILITY_PRESET hidden CUDA_VISIBILITY_PRESET hidden)
target_include_directories(detexp_cuda PUBLIC ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CUDA_TOOLKIT_INCLUDE_DIRECTORIES}
                           ${DETEXP_CUDA_HEADERS})
target_compile_options(detexp_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -O3 -Xcompiler=-fPIC --diag-suppress=177>
  $<$<COMPILE_LANGUAGE:CXX>:-O2 -Wall>)
target_link_libraries(detexp_cuda PUBLIC ${CMAKE_DL_LIBS})
if(_detexp_runtime STREQUAL "static")
  set_target_properties(detexp_cuda PROPERTIES CUDA_RUNTIME_LIBRARY Static)
else()
  set_target_properties(detexp_cuda PROPERTIES CUDA_RUNTIME_LIBRARY None)
endif()

# The TF GPU glue: host compiler, TF headers, GOOGLE_CUDA=1.
file(GLOB DETEXP_GPU_GLUE CONFIGURE_DEPENDS cc/kernels/*_gpu.cc)
target_sources(_detexp_ops PRIVATE ${DETEXP_GPU_GLUE})
target_compile_definitions(_detexp_ops PRIVATE GOOGLE_CUDA=1 DETEXP_CUDA=1)
target_link_libraries(_detexp_ops PRIVATE detexp_cuda)
if(_detexp_runtime STREQUAL "static")
  find_package(CUDAToolkit REQUIRED)
  target_link_libraries(_detexp_ops PRIVATE CUDA::cudart_static)
  set_target_properties(_detexp_ops PROPERTIES CUDA_RUNTIME_LIBRARY Static)
  # Keep the runtime's symbols out of the dynamic symbol table (checked by .ci/cuda_compile_check.sh).
  target_link_options(_detexp_ops PRIVATE -Wl,--exclude-libs,libcudart_static.a)
endif()
# The glue calls cudaLaunchKernel etc. only through detexp_cuda; those resolve against
# libtensorflow_framework.so.2 (already linked) in the "tf" runtime mode.

# A standalone test of the launchers without TF (run it first on a GPU machine, under
# compute-sanitizer); links the toolkit's static cudart since there is no TF to provide one.
option(DETEXP_CUDA_TESTS "Build cuda/tests (standalone kernel test binary)" ON)
if(DETEXP_CUDA_TESTS)
  add_executable(detexp_cuda_test cuda/tests/slogdet_kernels_test.cc)
  find_package(CUDAToolkit REQUIRED)
  target_link_libraries(detexp_cuda_test PRIVATE detexp_cuda CUDA::cudart_static ${CMAKE_DL_LIBS})
  set_target_properties(detexp_cuda_test PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
  add_executable(detexp_cuda_expm_test cuda/tests/expm_kernels_test.cc)
  target_link_libraries(detexp_cuda_expm_test PRIVATE detexp_cuda CUDA::cudart_static ${CMAKE_DL_LIBS})
  set_target_properties(detexp_cuda_expm_test PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
endif()
