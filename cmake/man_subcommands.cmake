# Writes a help2man --include file with the --help text of every `ftcodec` subcommand, so the
# man page documents them too. Run as: cmake -DCLI=path/to/ftcodec -DOUT=file -P this-file.
set(text "[SUBCOMMANDS]\n")
foreach(cmd enc dec info lose bench tune train-bottleneck)
  execute_process(COMMAND ${CLI} ${cmd} --help OUTPUT_VARIABLE help ERROR_QUIET RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR help STREQUAL "")
    continue()
  endif()
  string(REPLACE "${CLI}" "ftcodec" help "${help}")
  # roff: a backslash is \e; a line starting with . or ' must not be read as a request.
  string(REPLACE "\\" "\\e" help "${help}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
  string(APPEND text ".SS \"ftcodec ${cmd}\"\n.nf\n${help}\n.fi\n")
endforeach()
file(WRITE ${OUT} "${text}")
