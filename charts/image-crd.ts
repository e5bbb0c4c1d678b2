import { ApiObject, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  IMAGE_GROUP,
  IMAGE_KIND,
  IMAGE_LIST_KIND,
  IMAGE_PLURAL,
  IMAGE_SINGULAR,
  IMAGE_VERSION,
  imagePrinterColumns,
  imageSchema,
} from '../controller/src/api/image.js';
import { checkNameCollisions } from './collision-check.js';

/**
 * The CustomResourceDefinition of the Image API (`images.example.com`), built from the controller's
 * API module so the schema the API server enforces is the one the controller's types describe.
 *
 * It takes no props: the API belongs to the controller, and a CRD that differed from it would only
 * make the controller fail at run time. It is its own chart so `main.ts` can make it the first file
 * in `dist/`, and `kubectl apply -f dist/` creates the CRD before anything that refers to Images.
 */
export class ImageCrd extends Chart {
  /** The CRD's name, `images.example.com`. */
  public readonly crdName = `${IMAGE_PLURAL}.${IMAGE_GROUP}`;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    const manifest = k8s.KubeCustomResourceDefinition.manifest({
      metadata: { name: this.crdName },
      spec: {
        group: IMAGE_GROUP,
        scope: 'Namespaced',
        names: { kind: IMAGE_KIND, listKind: IMAGE_LIST_KIND, plural: IMAGE_PLURAL, singular: IMAGE_SINGULAR },
        versions: [
          {
            name: IMAGE_VERSION,
            served: true,
            storage: true,
            // The controller patches /status; users and Cartographer only ever write the spec.
            subresources: { status: {} },
            additionalPrinterColumns: imagePrinterColumns.map((column) => ({ ...column })),
          },
        ],
      },
    });
    // The typed converter knows only JSONSchemaProps' camelCase fields and would drop the `x-kubernetes-*`
    // keys imageSchema is written with, so the schema joins the converted manifest verbatim.
    manifest.spec.versions[0].schema = { openAPIV3Schema: imageSchema };
    new ApiObject(this, 'Resource', manifest);
    checkNameCollisions(this);
  }
}
