// gRPC server reflection (grpc.reflection.v1 and v1alpha) on every service, so
// grpcurl, Postman and reflection clients list and call the API without the
// repository's protos. Written here because no reflection server exists for
// connect-node: @grpc/reflection needs a grpc-js Server and proto-loader
// definitions (a second copy of every descriptor). The descriptors served are
// the ones protoc-gen-es embedded in the generated code, so they always match
// what the server speaks.

import { v1, v1alpha } from '@acestep/proto/reflection';
import { create, type DescFile, type DescService, fromBinary, toBinary } from '@bufbuild/protobuf';
import { nestedTypes } from '@bufbuild/protobuf/reflect';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import type { ConnectRouter } from '@connectrpc/connect';

type Request = v1.ServerReflectionRequest;
type Response = v1.ServerReflectionResponse;

/** What reflection answers from: the services, and every file they need by name and by symbol. */
export class ReflectionIndex {
  readonly services: string[];
  readonly #byName = new Map<string, DescFile>();
  readonly #bySymbol = new Map<string, DescFile>();

  constructor(services: readonly DescService[]) {
    this.services = [...new Set(services.map((s) => s.typeName))].sort();
    for (const service of services) this.#addFile(service.file);
  }

  #addFile(file: DescFile): void {
    if (this.#byName.has(file.proto.name)) return;
    this.#byName.set(file.proto.name, file);
    for (const type of nestedTypes(file)) {
      this.#bySymbol.set(type.typeName, file);
      if (type.kind === 'service')
        for (const method of type.methods) this.#bySymbol.set(`${type.typeName}.${method.name}`, file);
    }
    for (const dependency of file.dependencies) this.#addFile(dependency);
  }

  /** The file and everything it imports (transitively), each once: what a client needs to decode it. */
  filesFrom(file: DescFile): Uint8Array[] {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
      for (const dependency of f.dependencies) visit(dependency);
    };
    visit(file);
    return out;
  }

  answer(request: Request): Omit<Response, '$typeName'> {
    const base = { validHost: request.host, originalRequest: request };
    const notFound = (what: string) => ({
      ...base,
      messageResponse: {
        case: 'errorResponse' as const,
        value: { $typeName: 'grpc.reflection.v1.ErrorResponse' as const, errorCode: 5, errorMessage: what },
      },
    });
    const files = (file: DescFile | undefined, what: string) =>
      file
        ? {
            ...base,
            messageResponse: {
              case: 'fileDescriptorResponse' as const,
              value: {
                $typeName: 'grpc.reflection.v1.FileDescriptorResponse' as const,
                fileDescriptorProto: this.filesFrom(file),
              },
            },
          }
        : notFound(what);
    const { messageRequest: m } = request;
    switch (m.case) {
      case 'listServices':
        return {
          ...base,
          messageResponse: {
            case: 'listServicesResponse',
            value: {
              $typeName: 'grpc.reflection.v1.ListServiceResponse',
              service: this.services.map((name) => ({
                $typeName: 'grpc.reflection.v1.ServiceResponse' as const,
                name,
              })),
            },
          },
        };
      case 'fileByFilename':
        return files(this.#byName.get(m.value), `file ${JSON.stringify(m.value)} not found`);
      case 'fileContainingSymbol':
        return files(this.#bySymbol.get(m.value), `symbol ${JSON.stringify(m.value)} not found`);
      case 'fileContainingExtension':
        return notFound(`extension ${m.value.extensionNumber} of ${m.value.containingType} not found`);
      case 'allExtensionNumbersOfType':
        return this.#bySymbol.has(m.value)
          ? {
              ...base,
              messageResponse: {
                case: 'allExtensionNumbersResponse',
                value: {
                  $typeName: 'grpc.reflection.v1.ExtensionNumberResponse',
                  baseTypeName: m.value,
                  extensionNumber: [],
                },
              },
            }
          : notFound(`type ${JSON.stringify(m.value)} not found`);
      default:
        return notFound('empty reflection request: set one of list_services, file_by_filename, ...');
    }
  }
}

/**
 * Registers both reflection services for every service already on the router
 * (call it after the service's own routes).
 */
export function registerReflection(router: ConnectRouter): void {
  const services = router.handlers.map((h) => h.service);
  services.push(v1.ServerReflection, v1alpha.ServerReflection);
  const index = new ReflectionIndex(services);
  router.service(v1.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) yield index.answer(request);
    },
  });
  // v1alpha has the same messages under another package: their binary form is identical.
  router.service(v1alpha.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        const asV1 = fromBinary(
          v1.ServerReflectionRequestSchema,
          toBinary(v1alpha.ServerReflectionRequestSchema, request),
        );
        const answer = create(v1.ServerReflectionResponseSchema, index.answer(asV1));
        yield fromBinary(
          v1alpha.ServerReflectionResponseSchema,
          toBinary(v1.ServerReflectionResponseSchema, answer),
        );
      }
    },
  });
}
