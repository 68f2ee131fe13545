# knet_compile(<target> <source>...)
#
# Runs knetc on each model source as a build step and compiles the generated
# <source>.knet.cpp in place of the original. The step re-runs when the source
# or knetc changes. knetc receives the target's include directories, compile
# definitions and C++ standard, so it parses the source as the compiler does.
function(knet_compile target)
  if(NOT TARGET Knet::knetc)
    message(FATAL_ERROR "knet_compile: Knet::knetc is not available")
  endif()
  foreach(src IN LISTS ARGN)
    get_filename_component(abs ${src} ABSOLUTE)
    get_filename_component(name ${src} NAME_WE)
    set(out ${CMAKE_CURRENT_BINARY_DIR}/${name}.knet.cpp)
    set(incs "$<TARGET_PROPERTY:${target},INCLUDE_DIRECTORIES>")
    set(defs "$<TARGET_PROPERTY:${target},COMPILE_DEFINITIONS>")
    add_custom_command(
      OUTPUT ${out}
      COMMAND Knet::knetc ${abs} -o ${out} --
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
