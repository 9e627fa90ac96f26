export { parseDuration, formatDuration } from "./duration";
export {
  OPTIONS,
  OVERRIDE_KEYS,
  optionSpec,
  SETTING_KEYS,
  settingLabel,
  type SettingKey,
  type OptionKey,
  type OptionSpec,
  type Settings,
} from "./schema";
export {
  ConfigError,
  type ConfigIssue,
  defaultSettings,
  parseConfig,
  parseStateTable,
  serviceSettings,
  toEnvironment,
  type CheckerConfig,
  type ConfigInput,
  type ServiceSettings,
} from "./parse";
export { addConfigOptions, configOption, flagsFromCommander } from "./commander";
export {
  describeUnknownVariable,
  editDistance,
  unknownVariables,
  type UnknownVariable,
} from "./env-check";
export { listen } from "./values";
