import { ChunkType, readChunk, type Chunk } from './chunk';
import { StringPool } from './string-pool';
import { decodeValue, type TypedValue } from './typed-value';

export interface XmlAttribute {
  namespace: string | null;
  name: string | null;
  /** From the resource-map chunk; 0 when the attribute's name has no resource id. */
  resourceId: number;
  /** The attribute's original text, when the compiler kept it. */
  rawValue: string | null;
  value: TypedValue;
}

export interface XmlElement {
  namespace: string | null;
  name: string | null;
  /** 1 for the root element. */
  depth: number;
  lineNumber: number;
  attributes: XmlAttribute[];
}

export interface BinaryXml {
  strings: StringPool;
  /** Resource ids of the string pool's first strings (the resource-map chunk). */
  resourceIds: readonly number[];
  /** Every start element, in document order. */
  elements: XmlElement[];
}

/** ResXMLTree_node: chunk header + lineNumber + comment. */
const NODE_HEADER_SIZE = 16;
/** ResXMLTree_attrExt: ns, name, attributeStart, attributeSize, attributeCount, idIndex, classIndex, styleIndex. */
const ATTR_EXT_SIZE = 20;
/** ResXMLTree_attribute: ns, name, rawValue, Res_value(size, res0, dataType, data). */
const ATTRIBUTE_SIZE = 20;
const NO_STRING = 0xffffffff;

/** The smallest extension each node type must carry (ResXMLParser::nextNode). */
const MIN_EXT_SIZE: ReadonlyMap<number, number> = new Map([
  [ChunkType.XML_START_NAMESPACE, 8],
  [ChunkType.XML_END_NAMESPACE, 8],
  [ChunkType.XML_START_ELEMENT, ATTR_EXT_SIZE],
  [ChunkType.XML_END_ELEMENT, 8],
  [ChunkType.XML_CDATA, 12],
]);

/**
 * Parses Android binary XML exactly as leniently as androidfw's ResXMLTree: the outer chunk's type is not checked,
 * every chunk's headerSize and each start element's attributeStart/attributeSize are honoured, and unknown chunks are
 * skipped. Hardened APKs rely on parsers that are stricter than that.
 */
export function parseBinaryXml(buf: Buffer): BinaryXml {
  if (buf.length < 8) throw new Error(`too short to be binary XML (${buf.length} bytes)`);
  const headerSize = buf.readUInt16LE(2);
  const size = buf.readUInt32LE(4);
  if (size > buf.length) throw new Error(`truncated: the XML header says ${size} bytes but only ${buf.length} are present`);
  if (headerSize < 8 || headerSize > size) {
    throw new Error(`not binary XML: header size ${headerSize} does not fit a document of ${size} bytes`);
  }

  // Like ResXMLTree::setTo: take string pools and resource maps (the last of each wins) up to the first node.
  let strings: StringPool | undefined;
  let resourceIds: number[] = [];
  let firstNode: Chunk | undefined;
  for (let offset = headerSize; offset + 8 <= size && !firstNode; ) {
    const chunk = readChunk(buf, offset, size, 'XML chunk');
    if (chunk.type === ChunkType.STRING_POOL) {
      strings = StringPool.fromChunk(buf, chunk);
    } else if (chunk.type === ChunkType.XML_RESOURCE_MAP) {
      resourceIds = readResourceMap(buf, chunk);
    } else if (chunk.type >= ChunkType.XML_FIRST_NODE && chunk.type <= ChunkType.XML_LAST_NODE) {
      firstNode = chunk;
    }
    offset = chunk.end;
  }
  if (!strings) throw new Error('no string pool before the first XML node');
  if (!firstNode) throw new Error('no XML element found');

  const elements: XmlElement[] = [];
  let depth = 0;
  for (let offset = firstNode.start; offset < size; ) {
    const node = readChunk(buf, offset, size, 'XML node');
    offset = node.end;
    const minExt = MIN_EXT_SIZE.get(node.type);
    if (minExt === undefined) continue; // unknown chunk: skipped, as ResXMLParser::nextNode does
    if (node.headerSize < NODE_HEADER_SIZE) {
      throw new Error(`XML node at offset ${node.start}: header size ${node.headerSize} is smaller than ${NODE_HEADER_SIZE}`);
    }
    if (node.size - node.headerSize < minExt) {
      throw new Error(`XML node (type 0x${node.type.toString(16)}) at offset ${node.start}: ${node.size - node.headerSize} bytes after its header, needs ${minExt}`);
    }
    if (node.type === ChunkType.XML_START_ELEMENT) {
      depth += 1;
      elements.push(readStartElement(buf, node, depth, strings, resourceIds));
    } else if (node.type === ChunkType.XML_END_ELEMENT) {
      depth -= 1;
    }
  }
  return { strings, resourceIds, elements };
}

function readResourceMap(buf: Buffer, chunk: Chunk): number[] {
  const ids: number[] = [];
  for (let at = chunk.start + chunk.headerSize; at + 4 <= chunk.end; at += 4) ids.push(buf.readUInt32LE(at));
  return ids;
}

function readStartElement(buf: Buffer, node: Chunk, depth: number, strings: StringPool, resourceIds: readonly number[]): XmlElement {
  const ext = node.start + node.headerSize;
  const attributeStart = buf.readUInt16LE(ext + 8);
  const attributeSize = buf.readUInt16LE(ext + 10);
  const attributeCount = buf.readUInt16LE(ext + 12);
  // ResXMLTree::validateNode's bound: the declared attribute array must fit in the node.
  if (attributeStart + attributeSize * attributeCount > node.size - node.headerSize) {
    throw new Error(`XML start element at offset ${node.start}: ${attributeCount} attributes of ${attributeSize} bytes from ${attributeStart} do not fit in the node`);
  }
  const attributes: XmlAttribute[] = [];
  for (let i = 0; i < attributeCount; i++) {
    const at = ext + attributeStart + i * attributeSize;
    if (at + ATTRIBUTE_SIZE > buf.length) {
      throw new Error(`XML start element at offset ${node.start}: attribute ${i} runs past the end of the document`);
    }
    const nameIndex = buf.readUInt32LE(at + 4);
    attributes.push({
      namespace: stringRef(strings, buf.readUInt32LE(at)),
      name: stringRef(strings, nameIndex),
      resourceId: resourceIds[nameIndex] ?? 0,
      rawValue: stringRef(strings, buf.readUInt32LE(at + 8)),
      value: decodeValue(buf.readUInt8(at + 15), buf.readUInt32LE(at + 16), strings),
    });
  }
  return {
    namespace: stringRef(strings, buf.readUInt32LE(ext)),
    name: stringRef(strings, buf.readUInt32LE(ext + 4)),
    depth,
    lineNumber: buf.readUInt32LE(node.start + 8),
    attributes,
  };
}

function stringRef(strings: StringPool, index: number): string | null {
  return index === NO_STRING ? null : strings.get(index);
}
