# bash completion for ftcodec and ftcodec-full. Installed as share/bash-completion/completions/
# ftcodec and .../ftcodec-full; to try it from the source tree:
# source scripts/completion/ftcodec.bash
#
# The subcommands and their options are read from `ftcodec --help` and `ftcodec CMD --help`, so
# the completion follows the binary it completes (and its build: bench, tune and
# train-bottleneck show their options only where built with libtorch).
_ftcodec() {
  local cur prev cmd i
  COMPREPLY=()
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  local prog=${COMP_WORDS[0]}

  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      -*) ;;
      *) cmd=${COMP_WORDS[i]}; break ;;
    esac
  done

  if [[ -z $cmd ]]; then
    local cmds
    cmds=$("$prog" --help 2>/dev/null | awk '/^Subcommands:/ {s = 1; next} s && NF {print $1}')
    COMPREPLY=($(compgen -W "$cmds --help --version" -- "$cur"))
    return
  fi

  case $prev in
    --codec)
      COMPREPLY=($(compgen -W "raw ans jpeg hevc learned" -- "$cur")); return ;;
    --dtype)
      COMPREPLY=($(compgen -W "keep f32 f16 bf16" -- "$cur")); return ;;
    --conceal)
      COMPREPLY=($(compgen -W "auto zero mean linear inpaint caltec lowrank" -- "$cur")); return ;;
    --model)
      if [[ $cmd == lose ]]; then
        COMPREPLY=($(compgen -W "iid ge trace" -- "$cur")); return
      fi ;;
    --layout)
      COMPREPLY=($(compgen -W "mosaic frames" -- "$cur")); return ;;
    --inner)
      COMPREPLY=($(compgen -W "ans jpeg" -- "$cur")); return ;;
    --unit|--out|--data|--units)
      COMPREPLY=($(compgen -d -- "$cur")); return ;;
  esac

  if [[ $cur == -* ]]; then
    local opts
    opts=$("$prog" "$cmd" --help 2>/dev/null | grep -oE '(^|[ ,])--?[A-Za-z][-A-Za-z0-9]*' |
           sed 's/^[ ,]//' | sort -u)
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return
  fi
  COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -F _ftcodec ftcodec ftcodec-full
