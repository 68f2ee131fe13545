# knet_compile(<target> <source>... [KNETC_FLAGS <flag>...])
#
# Runs knetc on each model source as a build step and compiles the generated
# <source>.knet.cpp in place of the original. The step re-runs when the source
# or knetc changes. knetc receives the target's include directories, compile
# definitions and C++ standard, so it parses the source as the compiler does.
# KNETC_FLAGS are passed to knetc (e.g. --no-fuse). Generated files go to a
# folder of the target's own, <binary dir>/knet_compile/<target>/, so that
# several targets may compile the same source, with the same or other flags,
# and no generated folder takes the name of a build output.
function(knet_compile target)
  if(NOT TARGET Knet::knetc)
    message(FATAL_ERROR "knet_compile: Knet::knetc is not available")
  endif()
  cmake_parse_arguments(PARSE_ARGV 1 KC "" "" "KNETC_FLAGS")
  set(gen ${CMAKE_CURRENT_BINARY_DIR}/knet_compile/${target})
  file(MAKE_DIRECTORY ${gen})
  foreach(src IN LISTS KC_UNPARSED_ARGUMENTS)
    get_filename_component(abs ${src} ABSOLUTE)
    get_filename_component(name ${src} NAME_WE)
    set(out ${gen}/${name}.knet.cpp)
    set(incs "$<TARGET_PROPERTY:${target},INCLUDE_DIRECTORIES>")
    set(defs "$<TARGET_PROPERTY:${target},COMPILE_DEFINITIONS>")
    add_custom_command(
      OUTPUT ${out}
      COMMAND Knet::knetc ${abs} -o ${out} ${KC_KNETC_FLAGS} --
              -std=c++20 "$<$<BOOL:${incs}>:-I$<JOIN:${incs},;-I>>"
              "$<$<BOOL:${defs}>:-D$<JOIN:${defs},;-D>>"
      DEPENDS ${abs} Knet::knetc
      COMMENT "knetc ${src}"
      COMMAND_EXPAND_LISTS
      VERBATIM)
    # In place of the original (a source property would be directory-wide:
    # another target may compile the original as it is).
    get_target_property(srcs ${target} SOURCES)
    if(srcs)
      list(REMOVE_ITEM srcs ${src} ${abs})
      set_property(TARGET ${target} PROPERTY SOURCES ${srcs})
    endif()
    target_sources(${target} PRIVATE ${out})
    # The generated TU includes headers relative to the original's folder.
    get_filename_component(dir ${abs} DIRECTORY)
    target_include_directories(${target} PRIVATE ${dir})
  endforeach()
endfunction()
