import { TsbuildError } from '../util/index.js';
import { COMMAND_HELP, longFlags } from './help.js';

const takesValue = (name: string) => (COMMAND_HELP[name]?.options ?? []).filter(([f]) => /--[a-z-]+ \S/.test(f)).map(([f]) => f.match(/--[a-z-]+/)![0]);

function bash(): string {
  const names = Object.keys(COMMAND_HELP);
  const cases = names.map((n) => {
    const values = Object.entries(COMMAND_HELP[n]!.values ?? {}).map(([k, v]) => `        --${k}) COMPREPLY=($(compgen -W "${v.join(' ')}" -- "$cur")); return ;;`);
    const files = takesValue(n).filter((f) => !COMMAND_HELP[n]!.values?.[f.slice(2)]);
    return [
      `    ${n})`,
      '      case "$prev" in',
      ...values,
      ...(files.length ? [`        ${files.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;`] : []),
      '      esac',
      `      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "${longFlags(n).join(' ')} --help" -- "$cur")); return; fi`,
      n === 'help' || n === 'completion'
        ? `      COMPREPLY=($(compgen -W "${n === 'help' ? names.join(' ') : 'bash zsh'}" -- "$cur")); return ;;`
        : '      COMPREPLY=($(compgen -f -- "$cur")); return ;;',
    ].join('\n');
  });
  return `# bash completion for tsbuild: source <(tsbuild completion bash)
_tsbuild() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmd="" i=1
  while [ $i -lt $COMP_CWORD ]; do
    case "\${COMP_WORDS[i]}" in
      --root) i=$((i+2)); continue ;;
      --root=*|--debug) i=$((i+1)); continue ;;
      *) cmd="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  if [ -z "$cmd" ]; then
    if [ "$prev" = --root ]; then COMPREPLY=($(compgen -d -- "$cur")); return; fi
    COMPREPLY=($(compgen -W "${names.join(' ')} --root --debug --help --version" -- "$cur"))
    return
  fi
  case "$cmd" in
${cases.join('\n')}
  esac
}
complete -o default -F _tsbuild tsbuild
`;
}

function zsh(): string {
  const names = Object.keys(COMMAND_HELP);
  const describe = names.map((n) => `    '${n}:${COMMAND_HELP[n]!.summary.replace(/'/g, "'\\''").replace(/:/g, '\\:')}'`).join('\n');
  const cases = names.map((n) => {
    const values = Object.entries(COMMAND_HELP[n]!.values ?? {}).map(([k, v]) => `        --${k}) compadd -- ${v.join(' ')}; return ;;`);
    return [
      `    ${n})`,
      '      case "$words[CURRENT-1]" in',
      ...values,
      '      esac',
      `      if [[ "$PREFIX" == -* ]]; then compadd -- ${longFlags(n).join(' ')} --help; else ${n === 'help' ? `compadd -- ${names.join(' ')}` : n === 'completion' ? 'compadd -- bash zsh' : '_files'}; fi ;;`,
    ].join('\n');
  });
  return `#compdef tsbuild
# zsh completion for tsbuild: tsbuild completion zsh > "\${fpath[1]}/_tsbuild"
_tsbuild() {
  local -a commands
  commands=(
${describe}
  )
  local i=2 cmd=""
  while (( i < CURRENT )); do
    case "$words[i]" in
      --root) (( i += 2 )); continue ;;
      --root=*|--debug) (( i += 1 )); continue ;;
      *) cmd="$words[i]"; break ;;
    esac
  done
  if [[ -z "$cmd" ]]; then
    if [[ "$words[CURRENT-1]" == --root ]]; then _files -/; return; fi
    _describe -t commands 'tsbuild command' commands
    compadd -- --root --debug --help --version
    return
  fi
  case "$cmd" in
${cases.join('\n')}
  esac
}
if [[ "$funcstack[1]" == _tsbuild ]]; then _tsbuild "$@"; else compdef _tsbuild tsbuild; fi
`;
}

/** tsbuild completion bash|zsh */
export function completionScript(shell: string | undefined): string {
  if (shell === 'bash') return bash();
  if (shell === 'zsh') return zsh();
  throw new TsbuildError('TSB_USAGE', `"completion" needs a shell: bash or zsh${shell ? ` (not "${shell}")` : ''}`, { hint: 'usage: tsbuild completion bash|zsh' });
}
