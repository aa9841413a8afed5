export { downloadLink, type DownloadLinkOptions } from './download-link';
export { FileLinks, LinkError, serveFile, type LinkSubject } from './file-links';
