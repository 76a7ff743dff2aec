import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { CHECK_POLICIES, IS_PUBLIC } from '../../src/access/policies';
import { bootTestApp, TestApp } from '../support/test-app';

/** Every route declares who may call it: a policy, or an explicit `@Public()`. */
describe('route policies', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  it('finds a policy or @Public() on every route', () => {
    const discovery = t.app.get(DiscoveryService);
    const scanner = t.app.get(MetadataScanner);
    const reflector = t.app.get(Reflector);
    const routes: string[] = [];
    const missing: string[] = [];
    for (const wrapper of discovery.getControllers()) {
      const instance = wrapper.instance as object | undefined;
      if (!instance) continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const name of scanner.getAllMethodNames(prototype)) {
        const handler = (prototype as Record<string, unknown>)[name] as object;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
        if (path === undefined) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number];
        const route = `${method} ${wrapper.name}.${name}`;
        routes.push(route);
        const targets = [handler as () => void, wrapper.metatype as () => void];
        const declared =
          reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) ||
          reflector.getAllAndOverride<unknown>(CHECK_POLICIES, targets) !== undefined;
        if (!declared) missing.push(route);
      }
    }
    expect(routes.length).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });
});
