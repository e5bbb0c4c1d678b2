// A supply chain for web apps, authored with cdk8s-plus: each Workload labelled
// `app.tanzu.vmware.com/workload-type: web-service` gets an Image the image controller watches, a
// Deployment running the digest it resolved, and a Service in front of that Deployment.
import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { SupplyChain, workload } from 'simple-supply-chain';

export function webServiceSupplyChain(scope: Construct): SupplyChain {
  // The seed's chain without its Deployment: `image-builder` stamps an Image for each Workload.
  const chain = new SupplyChain(scope, 'web-service', {
    name: 'web-service',
    selector: { 'app.tanzu.vmware.com/workload-type': 'web-service' },
    imageTemplateName: 'web-service-image',
    deployer: false,
    params: { port: 8080 }, // a chain param: every resource's object can use it
  });

  // A resource is the scope of the one object its template stamps; its inputs are earlier resources.
  const deployer = chain.addResource('deployer', {
    templateName: 'web-service-deployment',
    params: { log_level: 'info', replicas: 1 }, // a Workload sets its own with params of the same names
    images: { app: chain.imageBuilder },
  });
  const deployment = new kplus.Deployment(deployer, 'Deployment', {
    replicas: deployer.params.replicas, // a number param, written as the whole field $(params.replicas)$
    containers: [
      {
        image: deployer.images.app, // the digest the image controller resolved
        ports: [{ name: 'http', number: chain.params.port }],
        envVariables: {
          APP_NAME: kplus.EnvValue.fromValue(workload.name),
          LOG_LEVEL: kplus.EnvValue.fromValue(deployer.params.log_level),
        },
        resources: {
          cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(500) },
          memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) },
        },
      },
    ],
  });

  // The Service selects the pods of this Workload's Deployment, and no other Workload's.
  const service = chain.addResource('service', { templateName: 'web-service-service' });
  new kplus.Service(service, 'Service', {
    selector: deployment,
    ports: [{ name: 'http', port: 80, targetPort: chain.params.port }],
  });

  return chain;
}
