/** The part of js-yaml 3 that bin/config-file.ts uses (the package ships no types of its own). */
declare module 'js-yaml' {
  /** The loader's state, as a listener sees it when a node opens or closes. */
  interface LoaderState {
    /** 0-based line of the read position. */
    line: number
    position: number
    input: string
    /** The node just closed. */
    result: unknown
  }
  interface YamlException extends Error {
    reason: string
    mark?: { line: number; column: number }
  }
  const yaml: {
    FAILSAFE_SCHEMA: unknown
    YAMLException: new (...args: never[]) => YamlException
    safeLoad(text: string, options?: { schema?: unknown; filename?: string; listener?: (event: 'open' | 'close', state: LoaderState) => void }): unknown
  }
  export default yaml
}
