import type { SourceLocation } from '../util/index.js';

/**
 * The strict, typed Dockerfile model. Every value is kept *raw* (as written, quotes and `$VAR` intact)
 * unless noted: expansion happens during planning, with the ARG/ENV scope of that point in the build.
 */

/** Flags given as `--name=value` (or bare `--name` for booleans); repeatable flags collect all values. */
export type Flags = Record<string, string[]>;

interface Base {
  /** 1-based lines this instruction covers in its file. */
  loc: SourceLocation;
  /** The instruction as written, continuations joined with the newline removed, for history and errors. */
  original: string;
  flags: Flags;
}

/** A heredoc body attached to RUN or COPY (`<<EOF` ... `EOF`). */
export interface Heredoc {
  name: string;
  content: string;
  /** true for `<<EOF` (expands), false for `<<'EOF'` / `<<"EOF"` (literal). */
  expand: boolean;
  /** `<<-EOF`: leading tabs stripped. */
  chomp: boolean;
}

export interface FromInstruction extends Base { kind: 'FROM'; image: string; stageName?: string }
/** Shell form keeps the whole command text in `cmd[0]`; exec form holds the JSON array elements. */
export interface RunInstruction extends Base { kind: 'RUN'; form: 'shell' | 'exec'; cmd: string[]; heredocs: Heredoc[] }
export interface CmdInstruction extends Base { kind: 'CMD'; form: 'shell' | 'exec'; cmd: string[] }
export interface EntrypointInstruction extends Base { kind: 'ENTRYPOINT'; form: 'shell' | 'exec'; cmd: string[] }
/** `sources` and `dest` are raw words; `heredocs` are inline sources for COPY <<EOF. */
export interface CopyInstruction extends Base { kind: 'COPY' | 'ADD'; sources: string[]; dest: string; heredocs: Heredoc[] }
export interface EnvInstruction extends Base { kind: 'ENV'; pairs: Array<{ key: string; value: string }> }
export interface ArgInstruction extends Base { kind: 'ARG'; args: Array<{ name: string; defaultValue?: string }> }
export interface LabelInstruction extends Base { kind: 'LABEL'; pairs: Array<{ key: string; value: string }> }
export interface WorkdirInstruction extends Base { kind: 'WORKDIR'; path: string }
export interface UserInstruction extends Base { kind: 'USER'; user: string }
export interface ExposeInstruction extends Base { kind: 'EXPOSE'; ports: string[] }
export interface VolumeInstruction extends Base { kind: 'VOLUME'; paths: string[] }
export interface ShellInstruction extends Base { kind: 'SHELL'; shell: string[] }
export interface StopsignalInstruction extends Base { kind: 'STOPSIGNAL'; signal: string }
export interface MaintainerInstruction extends Base { kind: 'MAINTAINER'; name: string }
/** HEALTHCHECK NONE has `test: ['NONE']`; CMD forms give ['CMD', ...args] or ['CMD-SHELL', script]. Durations in ns. */
export interface HealthcheckInstruction extends Base {
  kind: 'HEALTHCHECK';
  test: string[];
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}
/** `expression` is the trigger text as written after ONBUILD; `trigger` is it parsed. */
export interface OnbuildInstruction extends Base { kind: 'ONBUILD'; expression: string; trigger: Instruction }

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | CopyInstruction
  | EnvInstruction
  | ArgInstruction
  | LabelInstruction
  | WorkdirInstruction
  | UserInstruction
  | ExposeInstruction
  | VolumeInstruction
  | ShellInstruction
  | StopsignalInstruction
  | MaintainerInstruction
  | HealthcheckInstruction
  | OnbuildInstruction;

export interface Directives {
  escape: '\\' | '`';
  syntax?: string;
  check?: string;
}

export interface Dockerfile {
  file: string;
  directives: Directives;
  instructions: Instruction[];
  /** The file's lines (without line terminators), for code frames. */
  lines: string[];
}
