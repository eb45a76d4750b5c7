/**
 * The config registry: every parameter's current value, lookup by name or
 * alias (case-insensitive), and the operations behind the config file,
 * CONFIG GET, CONFIG SET and CONFIG REWRITE.
 *
 * Values live here in their exact form (64-bit integers as bigint, enums as
 * numbers); each parameter's `apply` mirrors its value into the typed
 * `ServerConfig` (`registry.target`) the server reads on its hot paths.
 * Server-side effects that can fail (re-binding after `port`/`bind`,
 * restarting the cron after `hz`) are registered with `onChange`; a hook
 * that throws makes CONFIG SET roll every parameter back, as Redis does.
 *
 * @module
 */

import { GlobPattern } from "../common/glob.ts";
import type { ServerConfig } from "./server_config.ts";
import { DENY_LOADING, HIDDEN, IMMUTABLE, type Param, PARAMS, PROTECTED } from "./params.ts";
import type { RewriteState } from "./rewrite_state.ts";
import { ConfigValueError, reject, splitOnSpaces } from "./values.ts";

/** A name CONFIG GET/SET knows: a parameter's main name or its alias. */
export interface ConfigEntry {
  /** Lower-case name, as listed by CONFIG GET patterns. */
  name: string;
  param: Param;
  isAlias: boolean;
}

/** Runs after CONFIG SET changed a parameter; throw to reject the change. */
export type ChangeHook = (target: ServerConfig) => void;

/** How a CONFIG SET caller may act. */
export interface SetContext {
  /** The client connects from the loopback interface (for `enable-protected-configs local`). */
  local: boolean;
  /** The dataset is being loaded (DENY_LOADING parameters are refused). */
  loading: boolean;
}

/** Holds every parameter's value and keeps `target` in sync. */
export class ConfigRegistry {
  readonly target: ServerConfig;
  /** Told of rolled-back CONFIG SETs (Redis logs them as warnings). */
  onWarning: (message: string) => void = () => {};
  private entries: ConfigEntry[] = [];
  private byName = new Map<string, ConfigEntry>();
  private values = new Map<Param, unknown>();
  private defaults = new Map<Param, unknown>();
  private hooks = new Map<Param, ChangeHook[]>();
  private loading = false;
  private seen = new Set<Param>();

  constructor(target: ServerConfig, params: readonly Param[] = PARAMS) {
    this.target = target;
    const ctx = { loading: false, seen: false };
    for (const p of params) {
      let value: unknown;
      if (p.defValue !== undefined) {
        // The target already holds this default (see defaultServerConfig).
        value = p.defValue;
      } else {
        const args = p.type.multiArg ? splitOnSpaces(p.def) : [p.def];
        value = p.type.parse(args, undefined, ctx);
        p.apply?.(target, value, p.type.format(value));
      }
      this.values.set(p, value);
      this.defaults.set(p, value);
      this.addEntry({ name: p.name, param: p, isAlias: false });
      if (p.alias) this.addEntry({ name: p.alias, param: p, isAlias: true });
    }
  }

  private addEntry(e: ConfigEntry): void {
    if (this.byName.has(e.name)) throw new Error(`Config "${e.name}" is declared twice`);
    this.entries.push(e);
    this.byName.set(e.name, e);
  }

  /** Every parameter, main names only. */
  get params(): Param[] {
    return this.entries.filter((e) => !e.isAlias).map((e) => e.param);
  }

  /** Finds a parameter by name or alias, in any case. */
  lookup(name: string): ConfigEntry | undefined {
    return this.byName.get(name.toLowerCase());
  }

  /** The current value of a parameter in its CONFIG GET form (undefined if unknown). */
  get(name: string): string | undefined {
    const e = this.lookup(name);
    return e === undefined ? undefined : this.text(e.param);
  }

  /** The exact stored value (bigint for numbers, number for enums...). */
  value(name: string): unknown {
    const e = this.lookup(name);
    return e === undefined ? undefined : this.values.get(e.param);
  }

  private text(p: Param): string {
    return p.type.format(this.values.get(p));
  }

  /** Registers a hook run when CONFIG SET changes `name` (hooks shared by several names run once). */
  onChange(name: string, hook: ChangeHook): void {
    const e = this.lookup(name);
    if (e === undefined) throw new Error(`Unknown config "${name}"`);
    const list = this.hooks.get(e.param) ?? [];
    list.push(hook);
    this.hooks.set(e.param, list);
  }

  /** Starts reading the start-up configuration (file, stdin, command line). */
  beginLoad(): void {
    this.loading = true;
    this.seen.clear();
  }

  /** Ends the start-up load. */
  endLoad(): void {
    this.loading = false;
  }

  /** True if `name` was set by the start-up configuration. */
  setAtStartup(name: string): boolean {
    const e = this.lookup(name);
    return e !== undefined && this.seen.has(e.param);
  }

  /**
   * Applies one config-file directive. Returns false when `name` is not a
   * parameter; throws `ConfigValueError` (Redis' reason) on a bad value.
   */
  loadDirective(name: string, args: string[]): boolean {
    const e = this.lookup(name);
    if (e === undefined) return false;
    if (!e.param.type.multiArg && args.length !== 1) reject("wrong number of arguments");
    // As Redis 7.0: a multi-argument directive given as one non-empty argument
    // (`--save "900 1"`, `client-output-buffer-limit "pubsub 1mb 512kb 1"`) is split on spaces.
    const split = e.param.type.multiArg && args.length === 1 && args[0] !== ""
      ? splitOnSpaces(args[0]).filter((a) => a !== "")
      : args;
    this.assign(e.param, split);
    return true;
  }

  /**
   * Sets a parameter to its default as if the start-up config said so (the
   * default `dir` is only entered once main has created it). Throws
   * `ConfigValueError`.
   */
  applyStartupDefault(name: string): void {
    const p = this.lookup(name)!.param;
    const wasLoading = this.loading;
    this.loading = true;
    try {
      this.assign(p, p.type.multiArg ? splitOnSpaces(p.def) : [p.def]);
    } finally {
      this.loading = wasLoading;
    }
  }

  /**
   * Records a value that is already in effect, without running hooks (the
   * port actually bound when `port 0` asked for any free one).
   */
  assume(name: string, value: string): void {
    const p = this.lookup(name)!.param;
    this.store(p, p.type.parse([value], this.values.get(p), { loading: false, seen: false }));
  }

  /** Parses and stores a value; returns true if it changed (hooks must run). */
  private assign(p: Param, args: string[]): boolean {
    const prev = this.values.get(p);
    const value = p.type.parse(args, prev, { loading: this.loading, seen: this.seen.has(p) });
    if (this.loading) this.seen.add(p);
    this.store(p, value);
    return !p.type.same(prev, value);
  }

  private store(p: Param, value: unknown): void {
    try {
      p.apply?.(this.target, value, p.type.format(value));
    } catch (err) {
      reject(err instanceof Error ? err.message : String(err));
    }
    this.values.set(p, value);
  }

  /**
   * CONFIG GET: name/value pairs for the patterns, without duplicates. A
   * pattern without glob characters is an exact (case-insensitive) lookup,
   * reported under the name as given; hidden parameters need one.
   */
  getMatching(patterns: string[]): [string, string][] {
    const out = new Map<string, [string, string]>();
    for (const pattern of patterns) {
      if (!/[[*?]/.test(pattern)) {
        const key = pattern.toLowerCase();
        const e = this.byName.get(key);
        if (e !== undefined && !out.has(key)) out.set(key, [pattern, this.text(e.param)]);
        continue;
      }
      const glob = new GlobPattern(pattern, true);
      for (const e of this.entries) {
        if (e.param.flags & HIDDEN || out.has(e.name)) continue;
        if (glob.matches(e.name)) out.set(e.name, [e.name, this.text(e.param)]);
      }
    }
    return [...out.values()];
  }

  /** True when protected parameters may be set by this caller. */
  private protectedAllowed(local: boolean): boolean {
    const v = this.value("enable-protected-configs");
    return v === 1 || (v === 2 && local);
  }

  /**
   * CONFIG SET with Redis' semantics: every name is checked first (unknown,
   * immutable, protected, loading, duplicate); then all values are set, and
   * only then the change hooks run. If a value or a hook fails, every
   * parameter gets its old value back. Returns null on success, else the
   * full error reply text.
   */
  setMany(pairs: [string, string][], ctx: SetContext): string | null {
    const chosen: ConfigEntry[] = [];
    let unknown: string | null = null;
    let failedName = "";
    let reason: string | null = null;
    let denyLoading = false;
    let invalid = false;
    for (const [name] of pairs) {
      const e = this.lookup(name);
      if (e === undefined) {
        if (!invalid) [unknown, invalid] = [name, true];
        continue;
      }
      if (invalid) continue;
      const flags = e.param.flags;
      if (flags & IMMUTABLE || (flags & PROTECTED && !this.protectedAllowed(ctx.local))) {
        reason = flags & IMMUTABLE ? "can't set immutable config" : "can't set protected config";
        [failedName, invalid] = [name, true];
        continue;
      }
      if (ctx.loading && flags & DENY_LOADING) {
        [denyLoading, invalid] = [true, true];
        continue;
      }
      // A name and its alias are different entries, so they are not duplicates (as in Redis).
      if (chosen.includes(e)) {
        reason = "duplicate parameter";
        [failedName, invalid] = [name, true];
      }
      chosen.push(e);
    }
    if (!invalid) {
      const olds = chosen.map((e) => this.values.get(e.param));
      const restore = () => chosen.forEach((e, i) => this.restore(e.param, olds[i]));
      const hooks: { hook: ChangeHook; at: number }[] = [];
      let i = 0;
      try {
        for (; i < chosen.length; i++) {
          const p = chosen[i].param;
          const value = pairs[i][1];
          const changed = this.assign(p, p.type.multiArg ? splitOnSpaces(value) : [value]);
          if (!changed) continue;
          for (const hook of this.hooks.get(p) ?? []) {
            if (!hooks.some((h) => h.hook === hook)) hooks.push({ hook, at: i });
          }
        }
      } catch (err) {
        if (!(err instanceof ConfigValueError)) throw err;
        restore();
        return setError(chosen[i].name, err.message);
      }
      for (const { hook, at } of hooks) {
        try {
          hook(this.target);
        } catch (err) {
          const name = chosen[at].name;
          this.onWarning(
            `Failed applying new configuration. Possibly related to new ${name} setting. Restoring previous settings.`,
          );
          restore();
          for (const h of hooks) {
            try {
              h.hook(this.target);
            } catch (again) {
              this.onWarning(`Failed applying restored failed CONFIG SET command: ${again}`);
            }
          }
          return setError(name, err instanceof Error ? err.message : null);
        }
      }
      return null;
    }
    if (denyLoading) return "LOADING Redis is loading the dataset in memory";
    if (unknown !== null) {
      return `ERR Unknown option or number of arguments for CONFIG SET - '${unknown}'`;
    }
    return setError(failedName, reason);
  }

  /** Puts a value back after a failed CONFIG SET. */
  private restore(p: Param, value: unknown): void {
    try {
      this.store(p, value);
    } catch (err) {
      this.onWarning(`Failed restoring failed CONFIG SET command. Error setting ${p.name}: ${err}`);
    }
  }

  /** Writes every parameter into a CONFIG REWRITE state (main names only). */
  rewriteInto(state: RewriteState): void {
    for (const p of this.params) {
      p.type.rewrite(state, p.name, this.values.get(p), this.defaults.get(p));
    }
  }
}

function setError(name: string, reason: string | null): string {
  const head = `ERR CONFIG SET failed (possibly related to argument '${name}')`;
  return reason === null ? head : `${head} - ${reason}`;
}
