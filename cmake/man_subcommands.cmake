# Writes a help2man --include file with the --help text of every `ftcodec` subcommand, so the
# man page documents them too, and, with -DFULL=ftcodec-full, how `ftcodec` hands jobs over to that
# executable. Run as: cmake -DCLI=path/to/ftcodec -DOUT=file [-DFULL=name] -P this-file.
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
if(FULL)
  string(APPEND text "[TWO EXECUTABLES]
.B ftcodec
loads no libtorch, OpenCV or FFmpeg, so coding a tensor starts in milliseconds.
It hands a job over to
.B ${FULL}
(installed beside it; the same command line, run with execv) when the job needs what it lacks:
.BR bench ,
.BR tune ,
.B train-bottleneck
(libtorch);
.B enc
with
.B --codec hevc
or
.B learned
(or a profile naming one);
.B --unit;
.B dec
and
.B info
of a stream whose codec is hevc or learned.
.B ${FULL}
takes the same command line and runs every job itself.
If it is needed but missing,
.B ftcodec
says where it looked and exits with status 1.
[ENVIRONMENT]
.TP
.B FTCODEC_FULL
The ${FULL} executable to hand jobs over to, instead of the one beside
.B ftcodec
or in the installed bin directory.
")
endif()
file(WRITE ${OUT} "${text}")
