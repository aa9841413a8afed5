export { parseManifest, readManifest, ManifestAttr, MANIFEST_ENTRY, RESOURCES_ENTRY, type ManifestInfo, type ManifestOptions } from './manifest';
export { parseBinaryXml, type BinaryXml, type XmlElement, type XmlAttribute } from './axml';
export {
  ResourceTable,
  parseResourceTable,
  type ResourceEntry,
  type ResourceFile,
  type ResourcePackage,
  type ResolveOptions,
} from './arsc';
export { configLocale, parseLocale, DENSITY_ANY, DENSITY_NONE, type ResourceConfig, type LocaleRequest } from './resource-config';
export { StringPool } from './string-pool';
export { intValue, stringValue, type TypedValue } from './typed-value';
