export { parseDuration, formatDuration } from "./duration";
export {
  OPTIONS,
  OVERRIDE_KEYS,
  optionSpec,
  type OptionKey,
  type OptionSpec,
  type Settings,
} from "./schema";
export {
  ConfigError,
  defaultSettings,
  parseConfig,
  serviceSettings,
  toEnvironment,
  type CheckerConfig,
  type ServiceSettings,
} from "./parse";
export { addConfigOptions, flagsFromCommander } from "./commander";
